import Foundation
import KubeCore
import TestSupport
import Testing

/// An upgrade of the CRD keeps what the previous schema stored: policies (every example) and their status written
/// under the previous release's CRD (Tests/Fixtures/kube/scalingpolicy-previous.yaml, the CRD of the last landed
/// release) read back unchanged after `kubectl apply` of today's, and take updates of spec and status under it.
@Suite struct CRDUpgradeTests {
    @Test(.enabled(if: Subprocess.isAvailable("kubectl"))) func objectsWrittenUnderThePreviousCRDStayValid()
        async throws
    {
        let directory = try TemporaryDirectory("forescale-crd-upgrade")
        defer { directory.remove() }
        let (apiserver, kubeconfig) = try await ForescaleBinary.startAPIServer(in: directory)
        defer { apiserver.stop() }
        let root = Fixtures.root.path
        func kubectl(_ arguments: [String], input: Data? = nil) async throws -> CommandResult {
            try await Subprocess.run("kubectl", ["--kubeconfig", kubeconfig] + arguments, input: input)
        }
        func applyCRD(_ path: String) async throws {
            let applied = try await kubectl(["apply", "--server-side", "--force-conflicts", "-f", path])
            #expect(applied.status == 0, "\(path): \(applied.stderr)")
            let established = try await kubectl([
                "wait", "--for=condition=Established", "--timeout=20s", "crd/scalingpolicies.forescale.io",
            ])
            #expect(established.status == 0, "\(established.stderr)")
        }
        try await applyCRD("\(root)/Tests/Fixtures/kube/scalingpolicy-previous.yaml")
        let examples = try FileManager.default.contentsOfDirectory(atPath: "\(root)/examples/policies").filter {
            $0.hasSuffix(".yaml")
        }.sorted()
        #expect(examples.count >= 5)
        for example in examples {
            let applied = try await kubectl(["apply", "-f", "\(root)/examples/policies/\(example)"])
            #expect(applied.status == 0, "\(example): \(applied.stderr)")
        }
        // A status as the controller writes it (conditions, a full stabilization window, a forecast).
        let names = try await kubectl(["get", "sp", "-o", "jsonpath={.items[*].metadata.name}"]).stdout.split(
            separator: " "
        ).map(String.init)
        #expect(names.count == examples.count)
        let status: JSONValue = [
            "status": [
                "observedGeneration": 1, "currentCapacity": 3, "desiredCapacity": 4, "mode": "Predictive",
                "conditions": [
                    [
                        "type": "Ready", "status": "True", "reason": "Reconciled",
                        "message": .string(String(repeating: "m", count: 2000)),
                        "lastTransitionTime": "2026-12-01T00:00:00Z",
                    ]
                ],
                "recommendations": .array(
                    (0..<64).map {
                        ["time": .string("2026-12-01T00:\(String(format: "%02d", $0 % 60)):00Z"), "capacity": 4]
                    }),
                "lastForecast": [
                    "time": "2026-12-01T00:00:00Z", "load": 120, "quantile": .number(0.8), "leadTimeSeconds": 300,
                    "points": .array((0..<12).map { _ in ["time": "2026-12-01T00:05:00Z", "value": 1, "median": 1] }),
                ],
            ]
        ]
        for name in names {
            let patched = try await kubectl([
                "patch", "sp", name, "--subresource=status", "--type=merge", "-p",
                String(decoding: status.serialized(), as: UTF8.self),
            ])
            #expect(patched.status == 0, "\(name): \(patched.stderr)")
        }
        let before = try JSONValue(parsing: Data(try await kubectl(["get", "sp", "-o", "json"]).stdout.utf8))

        try await applyCRD("\(root)/crds/scalingpolicy.yaml")
        let after = try JSONValue(parsing: Data(try await kubectl(["get", "sp", "-o", "json"]).stdout.utf8))
        let beforeItems = before["items"]?.arrayValue ?? []
        let afterItems = after["items"]?.arrayValue ?? []
        #expect(afterItems.count == examples.count)
        for (old, new) in zip(beforeItems, afterItems) {
            let name = new.value(at: ["metadata", "name"])?.stringValue ?? "?"
            #expect(old["spec"] == new["spec"], "\(name): spec changed across the upgrade")
            #expect(old["status"] == new["status"], "\(name): status changed across the upgrade")
        }
        // Updates under today's schema: the examples re-applied (a spec change), the status written again.
        for example in examples {
            let applied = try await kubectl(["apply", "-f", "\(root)/examples/policies/\(example)"])
            #expect(applied.status == 0, "\(example) under the new CRD: \(applied.stderr)")
        }
        for name in names {
            let patched = try await kubectl([
                "patch", "sp", name, "--type=merge", "-p", #"{"spec": {"maxCapacity": 12}}"#,
            ])
            #expect(patched.status == 0, "\(name): \(patched.stderr)")
            let status = try await kubectl([
                "patch", "sp", name, "--subresource=status", "--type=merge", "-p",
                #"{"status": {"desiredCapacity": 5}}"#,
            ])
            #expect(status.status == 0, "\(name): \(status.stderr)")
        }
        // What today's schema adds is enforced on new writes: a 65th recommendation is refused.
        let tooMany: JSONValue = [
            "status": [
                "recommendations": .array((0..<65).map { _ in ["time": "2026-12-01T00:00:00Z", "capacity": 1] })
            ]
        ]
        let refused = try await kubectl([
            "patch", "sp", try #require(names.first), "--subresource=status", "--type=merge", "-p",
            String(decoding: tooMany.serialized(), as: UTF8.self),
        ])
        #expect(refused.status != 0 && refused.stderr.contains("recommendations"), "\(refused.stdout)\(refused.stderr)")
    }
}
