import Foundation
import KubeCore
import TestSupport
import Testing

/// The embedded API server checked by the official Python client (a second, independent
/// client: capitalised booleans, no Content-Type on writes, strategic merge by default).
@Suite struct APIServerPythonClientTests {
    @Test func officialPythonClientProbePasses() async throws {
        let python: String
        do {
            python = try await PythonKubernetesClient.python()
        } catch {
            print("skipping the Python client probe: \(error)")
            return
        }
        let cluster = try EmbeddedCluster(bookmarkInterval: .seconds(1))
        defer { cluster.stop() }
        let crd = try YAML.parse(
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("kube/crd.yaml"))), as: UTF8.self))
        #expect(
            try await cluster.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body: crd)
                .status == 201)

        let result = try await Subprocess.run(
            python, [Fixtures.path("peers/kube_python_probe.py"), cluster.kubeconfigPath])
        let lines = result.stdout.split(separator: "\n")
        for line in lines where line.hasPrefix("FAIL") { Issue.record("\(line)") }
        #expect(lines.filter { $0.hasPrefix("PASS") }.count == 10, "\(result.stdout)\n\(result.stderr.suffix(3000))")
        #expect(result.status == 0)
    }
}
