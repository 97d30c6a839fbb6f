import Foundation
import KubeCore
import TestSupport
import Testing

/// The README's local path, as written: `forescale apiserver`, kubectl applies the CRD, the
/// calendar and the example policies, `forescale controller` with the image's /models
/// mounted from ./Models — and the examples load their model instead of falling back.
@Suite struct LocalPathTests {
    @Test(.enabled(if: Subprocess.isAvailable("kubectl"))) func theExamplesRunLocally() async throws {
        guard let binary = Fixtures.executable("forescale") else { throw ForescaleBinary.NotBuilt() }
        let directory = try TemporaryDirectory("forescale-local")
        defer { directory.remove() }
        let (apiserver, kubeconfig) = try await ForescaleBinary.startAPIServer(in: directory)
        defer { apiserver.stop() }
        // The README's relative paths, from the repository root.
        func kubectl(_ arguments: [String]) async throws -> CommandResult {
            let resolved = arguments.map {
                $0.hasPrefix("crds/") || $0.hasPrefix("examples/") ? Fixtures.root.path + "/" + $0 : $0
            }
            return try await Subprocess.run("kubectl", ["--kubeconfig", kubeconfig] + resolved)
        }
        var applied = try await kubectl(["apply", "-f", "crds/scalingpolicy.yaml"])
        #expect(applied.status == 0, "\(applied.stderr)")
        _ = try await kubectl(["wait", "--for=condition=Established", "crd/scalingpolicies.forescale.io"])
        applied = try await kubectl([
            "apply", "-f", "examples/calendar/calendar-configmap.yaml", "-f", "examples/policies/simulated.yaml",
            "-f", "examples/policies/threshold.yaml",
        ])
        #expect(applied.status == 0, "\(applied.stderr)")

        let controller = try BackgroundProcess(
            binary,
            [
                "controller", "--kubeconfig", kubeconfig, "--model-root", "/models=" + Fixtures.root.path + "/Models",
                "--access-rules", Fixtures.root.path + "/examples/access-rules/local.yaml",
                "--metrics-port", "0", "--dashboard-port", "0",
            ])
        defer { Task { _ = await controller.kill9() } }

        var conditions: [String: [String: String]] = [:]
        for _ in 0..<60 {
            try await Task.sleep(for: .milliseconds(500))
            let listed = try await kubectl(["get", "sp", "-o", "json"])
            guard listed.status == 0, let items = try JSONValue(parsing: Data(listed.stdout.utf8))["items"]?.arrayValue
            else { continue }
            conditions = [:]
            for item in items {
                let name = item.value(at: ["metadata", "name"])?.stringValue ?? ""
                for condition in item.value(at: ["status", "conditions"])?.arrayValue ?? [] {
                    conditions[name, default: [:]][condition["type"]?.stringValue ?? ""] =
                        "\(condition["status"]?.stringValue ?? "") \(condition["reason"]?.stringValue ?? "")"
                }
            }
            if conditions.count == 2, conditions.values.allSatisfy({ $0["ModelReady"] != nil }) { break }
        }
        for name in ["web-simulated", "web-threshold"] {
            #expect(conditions[name]?["Ready"] == "True Reconciled", "\(name): \(conditions)")
            #expect(conditions[name]?["ModelReady"] == "True ModelLoaded", "\(name): \(conditions)")
        }
        let table = try await kubectl(["get", "sp"])
        #expect(table.stdout.contains("Simulated/web") && table.stdout.contains("Threshold"), "\(table.stdout)")
        _ = await controller.kill9()
    }
}
