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
        let reconciles =
            result.stdout.components(separatedBy: "stopped after ").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
        #expect(reconciles >= 10, "\(result.stdout)")
        #expect(FileManager.default.fileExists(atPath: directory.file("kubeconfig")))
        #expect(FileManager.default.fileExists(atPath: directory.file("apiserver/wal.jsonl")))
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

        // The report: self-contained (no scripts, no external references), both charts with data.
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg id=\"load-chart\"") && page.contains("<svg id=\"capacity-chart\""))
        #expect(page.contains("<polygon class=\"band\" points=\""), "the forecast's quantile band")
        #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href="))
        #expect(page.components(separatedBy: "<path d=\"M").count - 1 >= 5, "load, forecast and three capacity lines")
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
