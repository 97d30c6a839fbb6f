import Foundation
import KubeCore
import TestSupport
import Testing

/// `forescale demo`, the README's first command, run by the built binary for a few seconds.
@Suite struct DemoTests {
    @Test func demoRunsTheWholeSystemAndStopsCleanly() async throws {
        let directory = try TemporaryDirectory("forescale-demo")
        defer { directory.remove() }
        let result = try await ForescaleBinary.run([
            "demo", "--duration", "12", "--speed", "900", "--dashboard-port", "0", "--data-dir", directory.path,
            "--model", Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path,
            "--crd", Fixtures.root.appendingPathComponent("crds/scalingpolicy.yaml").path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("forescale demo is running"))
        #expect(result.stdout.contains("get sp -w"))
        #expect(result.stdout.contains("dashboard:   http://127.0.0.1:"))
        let reconciles = result.stdout.firstMatch(of: /after (\d+) reconciles/).flatMap { Int($0.1) } ?? 0
        #expect(reconciles >= 10, "\(result.stdout)")
        #expect(FileManager.default.fileExists(atPath: directory.file("kubeconfig")))
        #expect(FileManager.default.fileExists(atPath: directory.file("apiserver/wal.jsonl")))

        // It ends with the two policies side by side.
        #expect(result.stdout.contains("Predictive vs. reactive over the same"), "\(result.stdout)")
        let table = result.stdout.components(separatedBy: "Predictive vs. reactive").last ?? ""
        #expect(table.contains("overload intervals") && table.contains("instance-hours") && table.contains("actions"))
        #expect(table.contains("default/web ") && table.contains("default/web-reactive"))

        // One clock: the API server's timestamps, the Events and the log read the virtual time
        // the demo announced (days before the real now), not the machine's.
        let announced = result.stdout.components(separatedBy: "virtual time ").dropFirst().first?.prefix(20)
        let virtualStart = try #require(announced.flatMap { Timestamps.parse(String($0)) })
        #expect(Date().timeIntervalSince(virtualStart) > 86_400, "the seed scenario starts in the past")
        let wal = try String(contentsOfFile: directory.file("apiserver/wal.jsonl"), encoding: .utf8)
        var stamps: [Date] = []
        for line in wal.split(separator: "\n") {
            guard let record = try? JSONValue(parsing: Data(line.utf8)), let object = record["o"] else { continue }
            for time in [object.value(at: ["metadata", "creationTimestamp"]), object["eventTime"]] {
                if let text = time?.stringValue, let date = Timestamps.parse(text) { stamps.append(date) }
            }
        }
        #expect(stamps.count > 10)
        #expect(
            stamps.allSatisfy {
                $0 >= virtualStart.addingTimeInterval(-60) && $0 < virtualStart.addingTimeInterval(86_400)
            },
            "every timestamp in virtual time: \(stamps.filter { $0 >= virtualStart.addingTimeInterval(86_400) }.prefix(3))"
        )
        let logged = (result.stdout + result.stderr).split(separator: "\n").filter { $0.contains(" info ") }
        #expect(
            logged.allSatisfy {
                Timestamps.parse(String($0.prefix(while: { $0 != " " }))).map {
                    $0 < virtualStart.addingTimeInterval(86_400)
                } ?? false
            }, "\(logged.prefix(3))")
    }
}

/// `forescale backtest` on the seed trace (a short tail, so the debug build stays quick).
@Suite struct BacktestCLITests {
    @Test func seedBacktestReportsEveryPolicy() async throws {
        let directory = try TemporaryDirectory("forescale-backtest")
        defer { directory.remove() }
        let html = directory.file("report.html")
        let result = try await ForescaleBinary.run([
            "backtest", "--trace", "seed", "--start-step", "8350", "--json", "--html", html,
            "--model", Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let policies = report?["policies"] as? [[String: Any]] ?? []
        #expect(policies.compactMap { $0["policy"] as? String } == ["predictive", "reactive", "threshold"])
        #expect(
            policies.allSatisfy {
                ($0["steps"] as? Int) == 290 && $0["instance_hours"] is Double && $0["overload_intervals"] is Int
            })
        #expect(policies.first?["forecast_mae_at_lead_time"] is Double)
        #expect((report?["predictive_vs"] as? [[String: Any]])?.count == 2)

        // The report: self-contained (no scripts, no external references); load and each
        // policy's capacity on its own chart, with units, the sale shaded and overloads marked.
        let page = try String(contentsOfFile: html, encoding: .utf8)
        for id in [
            "load-chart", "zoom-load-chart", "capacity-predictive", "capacity-reactive", "capacity-threshold",
            "zoom-capacity-reactive",
        ] {
            #expect(page.contains("<svg id=\"\(id)\" class=\"chart\""), "\(id)")
        }
        #expect(page.contains("<polygon class=\"s-band\" data-series=\"band\""), "the forecast's quantile band")
        #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href="))
        #expect(page.contains(">load, % of one instance</text>") && page.contains(">instances</text>"), "units")
        #expect(page.contains("class=\"window w-calendar\""), "the sale day is shaded")
        let overloads = policies.compactMap { $0["overload_intervals"] as? Int }.reduce(0, +)
        #expect(overloads > 0 && page.contains("class=\"window w-overload\""), "overload intervals are marked")
        #expect(page.components(separatedBy: "<tr>").count - 1 == 4, "a header and three policy rows")
        let parsed = try await Subprocess.run(
            "python3",
            [
                "-c",
                "import html.parser,sys; p=html.parser.HTMLParser(); p.feed(sys.stdin.read()); p.close(); print('ok')",
            ], input: Data(page.utf8))
        #expect(parsed.stdout.contains("ok"))
        let bad = try await ForescaleBinary.run(["backtest", "--trace", "/nonexistent.csv"])
        #expect(bad.status == 64 && bad.stderr.contains("/nonexistent.csv"))
    }

    /// A throughput trace at a stated capacity per instance, replayed with a policy manifest:
    /// the hand count of BacktestTests (50 req/s = 100 % of one instance at 50 per instance,
    /// so 50 → 150 req/s is load 100 → 300) reached through the command line.
    @Test func throughputTraceWithPolicyManifestMatchesTheHandCount() async throws {
        let directory = try TemporaryDirectory("forescale-backtest-policy")
        defer { directory.remove() }
        let rows = (0..<80).map { index in
            "\(Timestamps.format(Date(timeIntervalSince1970: 1_700_000_000 + Double(index) * 300))),\(index < 60 ? 50 : 150)"
        }
        try ("timestamp,value\n" + rows.joined(separator: "\n") + "\n").write(
            toFile: directory.file("requests.csv"), atomically: true, encoding: .utf8)
        try """
        apiVersion: forescale.io/v1alpha1
        kind: ScalingPolicy
        metadata: {name: web}
        spec:
          target: {kind: Simulated, name: web, simulation: {trace: seed, initialCapacity: 2, warmupSeconds: 300}}
          minCapacity: 1
          maxCapacity: 10
          mode: Reactive
          targetUtilization: 60
        """.write(toFile: directory.file("policy.yaml"), atomically: true, encoding: .utf8)
        let result = try await ForescaleBinary.run([
            "backtest", "--trace", directory.file("requests.csv"), "--policy", directory.file("policy.yaml"),
            "--capacity-per-instance", "50", "--compare", "reactive", "--start-step", "50", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONValue(parsing: Data(result.stdout.utf8))
        #expect(report["load_scale"] == .integer(2))
        let reactive = try #require(report["policies"]?.arrayValue?.first)
        #expect(reactive["steps"] == 30 && reactive["overload_intervals"] == 2 && reactive["scaling_actions"] == 2)
        #expect(reactive["under_provisioned_instance_minutes"]?.doubleValue == 20)
        #expect(
            abs((reactive["instance_hours"]?.doubleValue ?? 0) - 118.0 * 300 / 3600) < 1e-9,
            "the hand count of BacktestTests")

        let both = try await ForescaleBinary.run([
            "backtest", "--trace", directory.file("requests.csv"), "--capacity-per-instance", "50", "--load-scale", "2",
        ])
        #expect(both.status == 64 && both.stderr.contains("alternatives"))
    }
}
