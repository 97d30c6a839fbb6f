import Foundation
import KubeCore
import TestSupport
import Testing
import Transport

/// The dashboard and the backtest report as a user sees them: `forescale demo` (the built
/// binary) serving the dashboard, loaded in headless Chromium (Debian's `chromium`, installed
/// by `make deps`) at desktop and phone widths, driven over the DevTools protocol by
/// Tests/Fixtures/peers/dashboard_probe.py. A screenshot of every view is kept in
/// .build/screenshots/ (what the README and the release notes show).
@Suite struct DashboardTests {
    static let screenshots = Fixtures.root.appendingPathComponent(".build/screenshots").path

    @Test func chromiumShowsPoliciesChartsAndTheReport() async throws {
        guard Subprocess.isAvailable("chromium") else {
            Issue.record(
                "chromium is not installed (make deps installs it): the dashboard cannot be checked in a browser")
            return
        }
        guard let binary = Fixtures.executable("forescale") else { throw ForescaleBinary.NotBuilt() }
        let directory = try TemporaryDirectory("forescale-dashboard")
        defer { directory.remove() }
        let demo = try await PeerProcess.start(
            binary,
            [
                "demo", "--speed", "1800", "--virtual-hours", "10", "--dashboard-port", "0", "--data-dir",
                directory.file("demo"),
                "--model", Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path,
                "--crd", Fixtures.root.appendingPathComponent("crds/scalingpolicy.yaml").path,
            ]
        ) { line in
            guard let range = line.range(of: "dashboard:   http://127.0.0.1:") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        defer { demo.stop() }
        let base = "http://127.0.0.1:\(demo.port)"

        // Wait (real time) until the controller has stopped at 10 virtual hours: the sale day
        // began 4 hours in, and the pages then show one fixed moment however slow the machine.
        let http = HTTPClient()
        defer { http.shutdown() }
        var comparison: JSONValue = .null
        // Well under a minute on a quiet machine; the limit only bounds a hang.
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            let response = try await http.execute(HTTPRequest(url: base + "/api/v1/comparison"))
            guard response.status == 200 else { continue }
            comparison = try JSONValue(parsing: response.body)["comparison"] ?? .null
            if let start = comparison.value(at: ["event", "start"])?.stringValue.flatMap(Timestamps.parse),
                let end = comparison["end"]?.stringValue.flatMap(Timestamps.parse),
                end.timeIntervalSince(start) > 5.5 * 3600
            {
                break
            }
        }
        try await Task.sleep(for: .seconds(1))
        #expect(
            comparison["event"] != nil && comparison["event"] != .null, "10 virtual hours within 180 s: \(comparison)")

        // The backtest report of the last days of the seed trace (a sale day among them).
        let report = directory.file("report.html")
        let backtest = try await ForescaleBinary.run([
            "backtest", "--trace", "seed", "--start-step", "7800", "--html", report,
            "--model", Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path,
        ])
        #expect(backtest.status == 0, "\(backtest.stderr)")

        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        let policy = "\(base)/?live=0#/policies/default/web"
        let views: JSONValue = [
            ["name": "list", "url": .string(base + "/?live=0"), "width": 1400, "height": 900],
            ["name": "list-phone", "url": .string(base + "/?live=0"), "width": 390, "height": 844],
            ["name": "policy", "url": .string(policy), "width": 1400, "height": 1000, "charts": true],
            ["name": "policy-phone", "url": .string(policy), "width": 390, "height": 844, "charts": true],
            [
                "name": "reactive", "url": .string(base + "/?live=0#/policies/default/web-reactive"), "width": 1400,
                "height": 1000, "charts": true,
            ],
            ["name": "live", "url": .string(base + "/#/policies/default/web"), "width": 1280, "height": 900],
            ["name": "report", "url": .string("file://" + report), "width": 1400, "height": 1000, "charts": true],
            ["name": "report-phone", "url": .string("file://" + report), "width": 390, "height": 844, "charts": true],
        ]
        let probe = try await Subprocess.run(
            "python3",
            [
                Fixtures.path("peers/dashboard_probe.py"), String(decoding: views.serialized(), as: UTF8.self),
                Self.screenshots, "60",
            ])
        #expect(probe.status == 0, "\(probe.stderr)")
        let pages = try JSONValue(parsing: Data(probe.stdout.utf8))

        for name in ["list", "list-phone"] {
            let list = try #require(pages[name])
            #expect(list["state"] == "ready" && list["live"]?.stringValue?.hasPrefix("static") == true, "\(name)")
            #expect(list["policies"] == ["default/web", "default/web-reactive"])
            #expect(list["externalResources"] == [])
            #expect(list["overflowing"] == [], "\(name): nothing wider than the viewport")
            let rows = list["comparison"]?.arrayValue ?? []
            #expect(rows.map { $0.arrayValue?.first?.stringValue ?? "" } == ["default/web", "default/web-reactive"])
            let head = list["comparisonHead"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(head.contains("Overload intervals") && head.contains("Instance-hours"))
            #expect(head.contains { $0.hasPrefix("In service at sale-day") }, "the sale's pre-warm: \(head)")
        }
        #expect(
            pages["list"]?["headerHeights"]?.arrayValue?.allSatisfy { ($0.intValue ?? 99) < 40 } == true,
            "desktop table headers on one line: \(String(describing: pages["list"]?["headerHeights"]))")

        func charts(_ view: String) -> [String: JSONValue] {
            var byID: [String: JSONValue] = [:]
            for chart in pages[view]?["charts"]?.arrayValue ?? [] { byID[chart["id"]?.stringValue ?? ""] = chart }
            return byID
        }
        func strings(_ value: JSONValue?) -> [String] { value?.arrayValue?.compactMap(\.stringValue) ?? [] }
        for view in ["policy", "policy-phone", "reactive"] {
            let page = try #require(pages[view])
            #expect(page["state"] == "ready" && page["error"] == .null, "\(view): \(page)")
            let byID = charts(view)
            #expect(Set(byID.keys) == ["load-chart", "utilisation-chart", "capacity-chart"], "\(view)")
            for (id, chart) in byID {
                #expect((chart["points"]?.intValue ?? 0) > 10, "\(view) \(id): data")
                #expect(strings(chart["units"]).count == 2, "\(view) \(id): a unit and UTC")
                let ticks = strings(chart["yTicks"]).compactMap(Double.init)
                let steps = Set(zip(ticks, ticks.dropFirst()).map { ($1 - $0) * 1000 }.map { Int($0.rounded()) })
                #expect(ticks.count >= 3 && steps.count == 1, "\(view) \(id): evenly spaced y ticks: \(ticks)")
                #expect(strings(chart["timeTicks"]).count >= 2, "\(view) \(id): a time axis")
            }
            let load = try #require(byID["load-chart"])
            let series = Set(strings(load["series"]))
            #expect(series.isSuperset(of: ["load", "capacity", "slo-load"]), "capacity over the load: \(series)")
            let legend = strings(load["legend"])
            #expect(legend.contains("in-service capacity (100 %)") && legend.contains("load the SLO allows (80 %)"))
            if view == "reactive" {
                #expect(
                    !series.contains("forecast") && !legend.contains { $0.hasPrefix("forecast") }, "no forecast drawn")
                #expect(load["calendar"] == 0, "the reactive policy has no calendar")
            } else {
                #expect(series.contains("forecast") && legend.contains { $0.hasPrefix("forecast p80") })
                #expect(
                    (load["calendar"]?.intValue ?? 0) >= 1 && legend.contains("calendar event"), "the sale is shaded")
            }
            let utilisation = try #require(byID["utilisation-chart"])
            #expect(strings(utilisation["rules"]) == ["target 60 %", "SLO 80 %"])
            if (utilisation["overloads"]?.intValue ?? 0) > 0 {
                #expect(strings(utilisation["legend"]).contains("overload (above the SLO)"))
            }
            let capacity = try #require(byID["capacity-chart"])
            #expect(Set(strings(capacity["series"])) == ["inService", "current", "desired"])
            #expect((capacity["actions"]?.intValue ?? 0) >= 1 && strings(capacity["legend"]).contains("scale-up"))
            #expect(strings(capacity["yTicks"]).allSatisfy { !$0.contains(".") }, "whole instances")
            #expect(page["overflowing"] == [], "\(view): nothing wider than the viewport")
            if view == "reactive" {
                #expect(page["modelRows"] == 0 && page["headings"]?.arrayValue?.contains("Promotion history") == false)
            } else {
                #expect((page["modelRows"]?.intValue ?? 0) >= 7 && (page["events"]?.intValue ?? 0) >= 1)
            }
        }
        #expect(pages["policy-phone"]?["scrollWidth"] == 390)
        // Every chart of a page on one time axis: the same first and last time labels.
        let axes = Set(charts("policy").values.map { strings($0["timeTicks"]) })
        #expect(axes.count == 1, "one time axis: \(axes)")
        #expect(pages["live"]?["live"]?.stringValue?.hasPrefix("● live") == true, "the live page subscribes")

        for view in ["report", "report-phone"] {
            let byID = charts(view)
            #expect(
                Set(byID.keys).isSuperset(of: [
                    "load-chart", "zoom-load-chart", "capacity-predictive", "capacity-reactive", "capacity-threshold",
                ]), "\(view): \(byID.keys.sorted())")
            #expect((byID["load-chart"]?["calendar"]?.intValue ?? 0) >= 1, "\(view): the sale day shaded")
            #expect(
                byID.values.contains { ($0["overloads"]?.intValue ?? 0) > 0 }, "\(view): overload intervals marked")
            #expect(pages[view]?["overflowing"] == [], "\(view): nothing wider than the viewport")
        }
        for name in ["list", "list-phone", "policy", "policy-phone", "reactive", "live", "report", "report-phone"] {
            let png = try Data(contentsOf: URL(fileURLWithPath: "\(Self.screenshots)/\(name).png"))
            #expect(
                png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000,
                "\(name): a real screenshot (\(png.count) bytes)")
        }
    }
}
