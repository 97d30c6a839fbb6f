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

extension Fixtures {
    /// The value column (the last) of a trace in examples/data, oldest first: `name` without `.csv`.
    public static func traceValues(_ name: String) throws -> [Double] {
        let text = try String(contentsOf: root.appendingPathComponent("examples/data/\(name).csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            line.split(separator: ",").last.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        }
    }

    /// OpenMetrics sample lines (no TYPE line) for the last `days` of `values` as `series` (a name with its labels),
    /// one every 5 minutes, the newest at `end` (Unix seconds).
    public static func openMetricsSamples(_ values: [Double], series: String, days: Int = 14, end: Int) -> [String] {
        let rows = min(values.count, days * 288)
        return (0..<rows).map { index in
            "\(series) \(values[values.count - rows + index]) \(end - (rows - 1 - index) * 300)"
        }
    }
}
