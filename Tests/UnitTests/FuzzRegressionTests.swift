import Cloud
import Digest
import Forecasting
import Foundation
import KubeCore
import PolicyEngine
import TestSupport
import Testing

@testable import APIServer
@testable import Transport

/// Every input `make fuzz` ever crashed on (Tests/Fuzz/regressions/<target>/) and every seed
/// (Tests/Fuzz/seeds/<target>/), fed to the same entry points as the libFuzzer harnesses in
/// Tests/Fuzz/Harnesses. Surviving is the assertion (a trap ends the test process), plus
/// the harnesses' own invariants.
@Suite struct FuzzRegressionTests {
    static let targets = [
        "json", "yaml", "protobuf", "requesthead", "artefact", "policyspec", "calendar", "csv", "xml",
    ]

    static func inputs(_ target: String) -> [(name: String, data: Data)] {
        ["seeds", "regressions"].flatMap { kind -> [(String, Data)] in
            let directory = Fixtures.root.appendingPathComponent("Tests/Fuzz/\(kind)/\(target)")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.sorted().filter { !$0.hasPrefix(".") }.compactMap { name in
                (try? Data(contentsOf: directory.appendingPathComponent(name))).map { ("\(kind)/\(name)", $0) }
            }
        }
    }

    @Test(arguments: targets)
    func replay(_ target: String) throws {
        let inputs = Self.inputs(target)
        #expect(!inputs.isEmpty, "no seeds for \(target)")
        for (name, data) in inputs {
            switch target {
            case "json":
                if let value = try? JSONValue(parsing: data) {
                    let again = try JSONValue(parsing: value.serialized())
                    #expect(again.serialized() == value.serialized(), "\(name): round trip")
                }
            case "yaml":
                if let documents = try? YAML.parseDocuments(String(decoding: data, as: UTF8.self), maxDepth: 128) {
                    #expect(documents.allSatisfy { $0.depth <= 129 }, "\(name)")
                }
            case "protobuf":
                _ = try? KubeProtobuf.decode(data)
            case "requesthead":
                _ = try? RequestHead.parse([UInt8](data))
            case "artefact":
                if let artefact = try? ModelArtefact.decode(Self.framed(data), path: name) {
                    let forecaster = Forecaster(artefact)
                    let rows = artefact.header.sequenceLength + 2
                    let times = (0..<rows).map {
                        Date(timeIntervalSince1970: 1_700_000_000 + Double($0) * artefact.header.stepSeconds)
                    }
                    let names = artefact.header.featureNames
                    let columns = Dictionary(
                        uniqueKeysWithValues: names.map { ($0, [Float](repeating: 1, count: rows)) })
                    _ = try? forecaster.forecast(
                        TimeSeriesTable(timestamps: times, columns: columns, columnNames: names))
                }
            case "policyspec":
                if let json = try? JSONValue(parsing: data), case .success(let spec) = PolicySpec.parse(json) {
                    let now = Date(timeIntervalSince1970: 1_800_000_000)
                    for load in [0.0, 1e300, .greatestFiniteMagnitude] {
                        let point = ForecastPoint(
                            time: now.addingTimeInterval(spec.stepSeconds), value: load, median: load)
                        _ = decide(
                            DecisionInput(
                                now: now, currentCapacity: spec.maxCapacity, currentLoad: load, forecast: [point]),
                            policy: spec)
                    }
                }
            case "calendar":
                if let events = try? BusinessCalendar.parse(data) {
                    _ = BusinessCalendar.features(for: [Date(timeIntervalSince1970: 1_800_000_000)], events: events)
                }
            case "csv":
                if let table = try? TimeSeriesTable.parse(String(decoding: data, as: UTF8.self), path: name) {
                    _ = try? table.regularized()
                    _ = try? table.regularized(step: 300, lastRows: 48)
                }
            case "xml":
                if let tree = try? XMLTree.parse(data) { _ = tree.stringValue }
            default:
                Issue.record("unknown target \(target)")
            }
        }
    }

    /// The artefact harness's framing: inputs without the magic number are (header length,
    /// header, weights) and get a valid frame and checksum.
    static func framed(_ input: Data) -> Data {
        guard !input.starts(with: ModelArtefact.magic), input.count >= 4 else { return input }
        let bytes = [UInt8](input)
        let headerLength = min(Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16, bytes.count - 4)
        var file = Data(ModelArtefact.magic)
        file.append(contentsOf: [1, 0, 0, 0])
        let length = UInt32(headerLength)
        file.append(contentsOf: [
            UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24),
        ])
        file.append(contentsOf: bytes.dropFirst(4))
        var hasher = SHA256()
        file.withUnsafeBytes { hasher.update($0) }
        file.append(contentsOf: hasher.finalize())
        return file
    }
}
