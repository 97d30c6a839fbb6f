import Digest
import Foundation
import TestSupport
import Testing

@testable import Forecasting

/// Artefacts whose checksum is valid but whose header is hostile or mistaken: each is a
/// clear error naming the file and the field, found before anything is allocated from it —
/// never a trap, never an allocation of 2^40 floats.
@Suite("Hostile model artefacts")
struct HostileArtefactTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var change: @Sendable (inout ModelArtefact) -> Void
        var expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "hiddenSize 2^40", change: { $0.header.network.hiddenSize = 1 << 40 }, expected: "network.hiddenSize"),
        Case(name: "hiddenSize 0", change: { $0.header.network.hiddenSize = 0 }, expected: "network.hiddenSize"),
        Case(name: "layers -1", change: { $0.header.network.layers = -1 }, expected: "network.layers"),
        Case(name: "layers 0", change: { $0.header.network.layers = 0 }, expected: "network.layers"),
        Case(name: "layers 1000", change: { $0.header.network.layers = 1000 }, expected: "network.layers"),
        Case(name: "horizon 0", change: { $0.header.network.horizon = 0 }, expected: "network.horizon"),
        Case(name: "horizon -1", change: { $0.header.network.horizon = -1 }, expected: "network.horizon"),
        Case(name: "horizon Int.max", change: { $0.header.network.horizon = .max }, expected: "network.horizon"),
        Case(name: "inputSize -2", change: { $0.header.network.inputSize = -2 }, expected: "network.inputSize"),
        Case(name: "headSize 2^50", change: { $0.header.network.headSize = 1 << 50 }, expected: "network.headSize"),
        Case(name: "sequenceLength -1", change: { $0.header.sequenceLength = -1 }, expected: "sequenceLength"),
        Case(
            name: "sequenceLength 10^9", change: { $0.header.sequenceLength = 1_000_000_000 },
            expected: "sequenceLength"),
        Case(name: "stepSeconds 1e308", change: { $0.header.stepSeconds = 1e308 }, expected: "stepSeconds"),
        Case(name: "stepSeconds 0", change: { $0.header.stepSeconds = 0 }, expected: "stepSeconds"),
        Case(name: "stepSeconds -300", change: { $0.header.stepSeconds = -300 }, expected: "stepSeconds"),
        Case(name: "scaler shorter than the features", change: { $0.header.scaler.minimum = [0] }, expected: "scaler"),
        Case(
            name: "scaler max below min",
            change: { $0.header.scaler.maximum = $0.header.scaler.minimum.map { $0 - 1 } }, expected: "scaler"),
        Case(
            name: "scaler with an extra column",
            change: {
                $0.header.scaler.maximum.append(1)
                $0.header.scaler.minimum.append(0)
            }, expected: "scaler"),
        Case(
            name: "fewer feature names than inputs", change: { $0.header.featureNames.removeLast() },
            expected: "featureNames"),
        Case(
            name: "duplicate feature names", change: { $0.header.featureNames[1] = $0.header.featureNames[0] },
            expected: "featureNames has duplicates"),
        Case(
            name: "target not among the features", change: { $0.header.targetColumn = "nope" }, expected: "targetColumn"
        ),
        Case(name: "unknown feature set", change: { $0.header.featureSet = "psychic" }, expected: "featureSet"),
        Case(
            name: "quantile 1.5", change: { $0.header.network.quantiles = [0.5, 1.5] }, expected: "network.quantiles"),
        Case(name: "quantile 0", change: { $0.header.network.quantiles = [0, 0.5] }, expected: "network.quantiles"),
        Case(
            name: "quantile negative", change: { $0.header.network.quantiles = [-0.1] }, expected: "network.quantiles"),
        Case(
            name: "duplicate quantiles", change: { $0.header.network.quantiles = [0.5, 0.5] },
            expected: "network.quantiles has duplicates"),
        Case(
            name: "100 quantiles", change: { $0.header.network.quantiles = (1...100).map { Float($0) / 101 } },
            expected: "quantiles"),
        Case(name: "dropout 1", change: { $0.header.network.dropout = 1 }, expected: "network.dropout"),
        Case(name: "levelSpan 0", change: { $0.header.levelSpan = 0 }, expected: "levelSpan"),
        Case(name: "levelSpan above the sequence", change: { $0.header.levelSpan = 1000 }, expected: "levelSpan"),
        Case(
            name: "training ends before it starts",
            change: { $0.header.trainingEnd = $0.header.trainingStart.addingTimeInterval(-1) }, expected: "trainingEnd"),
        Case(name: "parameterCount 2^62", change: { $0.header.parameterCount = 1 << 62 }, expected: "parameterCount"),
        Case(name: "parameterCount off by one", change: { $0.header.parameterCount += 1 }, expected: "parameterCount"),
        Case(name: "parameterCount negative", change: { $0.header.parameterCount = -4 }, expected: "parameterCount"),
        Case(name: "a NaN weight", change: { $0.parameters[7] = .nan }, expected: "weight 7"),
        Case(
            name: "an infinite weight", change: { $0.parameters[$0.parameters.count - 1] = -.infinity },
            expected: "every weight must be finite"),
        Case(
            name: "weights for another architecture", change: { $0.parameters.removeLast(4) },
            expected: "parameterCount"),
    ]

    /// A real model (the committed NAB one), re-encoded after the change with a valid checksum.
    static func hostile(_ change: (inout ModelArtefact) -> Void) throws -> Data {
        var artefact = try ModelArtefact.load(
            path: Fixtures.root.appendingPathComponent("Models/ec2-825cc2-load.fsm").path)
        change(&artefact)
        return try artefact.encoded()
    }

    @Test(arguments: cases)
    func structuralProblemsAreNamed(_ test: Case) throws {
        let data = try Self.hostile(test.change)
        do {
            _ = try ModelArtefact.decode(data, path: "models/hostile.fsm")
            Issue.record("\(test.name): accepted")
        } catch {
            #expect(error.description.hasPrefix("models/hostile.fsm: "), "names the file: \(error)")
            #expect(error.description.contains(test.expected), "\(test.name): \(error)")
        }
    }

    /// Framing: lengths and checksums that do not add up.
    @Test(
        arguments: [
            ("empty file", Data(), "truncated"),
            ("magic only", Data("FSCMODEL".utf8), "truncated"),
            ("version 99", Data("FSCMODEL".utf8) + Data([99, 0, 0, 0, 0, 0, 0, 0]), "version 99"),
            (
                "header length 4 GiB",
                Data("FSCMODEL".utf8) + Data([1, 0, 0, 0, 255, 255, 255, 255]) + Data(repeating: 0, count: 40),
                "truncated"
            ),
            ("random bytes", Data((0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37) }), "not a Forescale model"),
        ] as [(String, Data, String)])
    func framingProblemsAreNamed(_ name: String, _ data: Data, _ expected: String) {
        do {
            _ = try ModelArtefact.decode(data, path: "m.fsm")
            Issue.record("\(name): accepted")
        } catch {
            #expect(error.description.contains(expected), "\(name): \(error)")
        }
    }

    /// The header the issue found crashing the controller: parameterCount 2^62 behind a
    /// checksum that does not match. The size is checked with overflow-checked arithmetic.
    @Test func parameterCountOverflowBehindABadChecksum() throws {
        var data = try Self.hostile { $0.header.parameterCount = 1 << 62 }
        data[data.count - 1] ^= 0xFF
        #expect(throws: ModelArtefact.LoadError.self) { try ModelArtefact.decode(data, path: "m.fsm") }
    }

    /// A header that is not JSON, with a valid checksum, and one over the header limit.
    @Test func unreadableAndOversizedHeaders() throws {
        func frame(_ header: Data) -> Data {
            var data = Data(ModelArtefact.magic)
            data.append(contentsOf: [1, 0, 0, 0])
            let length = UInt32(header.count)
            data.append(contentsOf: [
                UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24),
            ])
            data.append(header)
            var hasher = SHA256()
            data.withUnsafeBytes { hasher.update($0) }
            data.append(contentsOf: hasher.finalize())
            return data
        }
        #expect(throws: ModelArtefact.LoadError.self) {
            try ModelArtefact.decode(frame(Data("{not json".utf8)), path: "m.fsm")
        }
        let deep = Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        #expect(throws: ModelArtefact.LoadError.self) { try ModelArtefact.decode(frame(deep), path: "m.fsm") }
        let huge = Data(repeating: UInt8(ascii: " "), count: (4 << 20) + 1)
        do {
            _ = try ModelArtefact.decode(frame(huge), path: "m.fsm")
            Issue.record("a 4 MiB header was accepted")
        } catch {
            #expect(error.description.contains("header length"), "\(error)")
        }
    }
}
