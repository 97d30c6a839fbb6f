import Foundation
import TestSupport
import Testing

/// What `kubectl apply -k deploy/` sends, checked by a schema checker that is not ours: PyPI's
/// `kubernetes-validate` (the Kubernetes OpenAPI schemas of each release, strict: unknown fields are errors)
/// on the base and the single-namespace overlay, for the oldest and newest releases we support.
@Suite struct DeployManifestTests {
    static let versions = ["1.29.0", "1.33.0", "1.37.0"]

    static func render(_ path: String) async throws -> String {
        let rendered = try await Subprocess.run(
            "kubectl", ["kustomize", Fixtures.root.appendingPathComponent(path).path])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        return rendered.stdout
    }

    static func validate(_ manifests: String, version: String) async throws -> CommandResult {
        let directory = try TemporaryDirectory()
        let file = directory.file("rendered.yaml")
        try Data(manifests.utf8).write(to: URL(fileURLWithPath: file))
        return try await Subprocess.run("python3", ["-m", "kubernetes_validate", "--strict", "-k", version, file])
    }

    @Test(arguments: versions)
    func theInstallIsValidForEachRelease(version: String) async throws {
        for path in ["deploy", "deploy/overlays/single-namespace"] {
            let manifests = try await Self.render(path)
            let objects = manifests.split(separator: "\n").filter { $0.hasPrefix("kind: ") }.count
            #expect(objects >= 15, "\(path): \(objects) objects rendered")
            let result = try await Self.validate(manifests, version: version)
            #expect(result.status == 0, "\(path) against \(version): \(result.stdout)\(result.stderr)")
            let passed = (result.stdout + result.stderr).components(separatedBy: " passed for resource ").count - 1
            #expect(passed == objects, "\(path) against \(version): every object checked (\(passed) of \(objects))")
        }
    }

    /// The checker is strict and real: a misspelt field in the controller's Deployment is refused.
    @Test func aMisspeltFieldIsRefused() async throws {
        let manifests = try await Self.render("deploy")
        let broken = manifests.replacingOccurrences(
            of: "readOnlyRootFilesystem: true", with: "readOnlyRootFilesytem: true")
        #expect(broken != manifests)
        let result = try await Self.validate(broken, version: Self.versions.last!)
        #expect(result.status != 0, "\(result.stdout)")
    }
}
