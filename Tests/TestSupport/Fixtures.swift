import Foundation
import KubeCore

/// Paths inside the repository, resolved from this file's location so tests never
/// depend on the working directory.
public enum Fixtures {
    /// The repository root.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    public static func path(_ relative: String) -> String {
        root.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative).path
    }

    /// A built executable of this package (debug or release, whichever `swift build` made).
    public static func executable(_ name: String) -> String? {
        for configuration in ["debug", "release"] {
            let candidate = root.appendingPathComponent(".build/\(configuration)/\(name)").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

extension Fixtures {
    /// The openAPIV3Schema of crds/scalingpolicy.yaml (its first version), or null.
    public static let scalingPolicySchema: JSONValue = {
        let text =
            (try? String(contentsOf: root.appendingPathComponent("crds/scalingpolicy.yaml"), encoding: .utf8)) ?? ""
        let crd = (try? YAML.parse(text)) ?? .null
        return crd.value(at: ["spec", "versions"])?.arrayValue?.first?.value(at: ["schema", "openAPIV3Schema"]) ?? .null
    }()
}
