import Foundation
import KubeCore
import TestSupport
import Testing
import Transport

/// The dashboard as a user sees it: `forescale demo` (the built binary) serving it, loaded in
/// headless Chromium (Debian's `chromium`, installed by `make deps`) on a desktop and a
/// phone viewport, driven over the DevTools protocol by Tests/Fixtures/peers/dashboard_probe.py.
@Suite struct DashboardTests {
    @Test func chromiumShowsPoliciesAndLiveCharts() async throws {
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
                "demo", "--speed", "1800", "--dashboard-port", "0", "--data-dir", directory.file("demo"),
                "--model", Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path,
                "--crd", Fixtures.root.appendingPathComponent("crds/scalingpolicy.yaml").path,
            ]
        ) { line in
            guard let range = line.range(of: "dashboard:   http://127.0.0.1:") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        defer { demo.stop() }
        let base = "http://127.0.0.1:\(demo.port)"

        // Wait (real time) until the predictive policy has scaled for the sale: 8 virtual hours.
        let http = HTTPClient()
        defer { http.shutdown() }
        var actions: [JSONValue] = []
        for _ in 0..<120 where actions.isEmpty {
            try await Task.sleep(for: .milliseconds(500))
            let response = try await http.execute(HTTPRequest(url: base + "/api/v1/policies/default/web/history"))
            guard response.status == 200 else { continue }
            actions = try JSONValue(parsing: response.body)["actions"]?.arrayValue ?? []
        }
        #expect(!actions.isEmpty, "the demo's predictive policy scaled within 60 s")

        let shots = directory.file("screenshots")
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let probe = try await Subprocess.run("python3", [Fixtures.path("peers/dashboard_probe.py"), base, shots, "60"])
        #expect(probe.status == 0, "\(probe.stderr)")
        let report = try JSONValue(parsing: Data(probe.stdout.utf8))

        let list = try #require(report["list"])
        #expect(list["state"] == "ready")
        #expect(list["policies"] == ["default/web", "default/web-reactive"])
        #expect(list["externalResources"] == [])
        #expect(list["live"] == "● live", "the page subscribed to the server-sent events")

        for view in ["policy", "phone"] {
            let page = try #require(report[view])
            #expect(page["state"] == "ready", "\(view): \(page)")
            #expect(page["error"] == .null)
            let charts = page["charts"]?.arrayValue ?? []
            #expect(charts.map { $0["id"]?.stringValue ?? "" } == ["load-chart", "capacity-chart"])
            #expect(charts.allSatisfy { ($0["points"]?.intValue ?? 0) > 10 }, "\(view): non-empty series: \(charts)")
            #expect(
                charts.first?["bands"] == 1 && charts.first?["paths"] == 2,
                "load and forecast lines over the forecast band")
            #expect(
                charts.last?["paths"] == 3 && (charts.last?["actions"]?.intValue ?? 0) >= 1,
                "capacity lines with the scale actions marked")
            #expect((page["events"]?.intValue ?? 0) >= 1)
            #expect((page["modelRows"]?.intValue ?? 0) >= 7)
            #expect(page["headings"]?.arrayValue?.contains("Promotion history") == true)
            #expect(page["overflowing"] == [], "\(view): nothing wider than the viewport")
            let screenshot = try #require(page["screenshot"]?.stringValue)
            let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
            #expect(
                png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000,
                "\(view): a real screenshot (\(png.count) bytes)")
        }
        #expect(report["phone"]?["scrollWidth"] == 390)
    }
}
