import Foundation
import TestSupport
import Testing

@testable import Forecasting

/// The forward pass against an independent NumPy implementation
/// (Tests/Fixtures/reference/lstm_reference.py, output committed beside it).
@Suite("Forward pass vs. NumPy reference")
struct ReferenceForwardTests {
    struct Reference: Decodable {
        struct Network: Decodable {
            var inputSize: Int, hiddenSize: Int, layers: Int, headSize: Int, outputs: Int
        }
        var network: Network
        var steps: Int
        var batch: Int
        var parameters: [Double]
        var input: [Double]
        var output: [Double]
    }

    @Test func matchesNumPy() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("reference/lstm_reference.json")))
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        let n = reference.network
        let network = ForecasterNetwork(
            NetworkConfiguration(
                inputSize: n.inputSize, hiddenSize: n.hiddenSize, layers: n.layers,
                dropout: 0.5, headSize: n.headSize, horizon: n.outputs))
        #expect(network.parameterCount == reference.parameters.count)
        let pass = network.makePass(steps: reference.steps, batch: reference.batch)
        // Evaluation mode (no random source): dropout is the identity.
        network.forward(
            reference.input.map(Float.init), parameters: reference.parameters.map(Float.init), pass: pass, random: nil)
        #expect(pass.outputs.count == reference.output.count)
        for (actual, expected) in zip(pass.outputs, reference.output) {
            #expect(abs(Double(actual) - expected) < 1e-5, "got \(actual), NumPy \(expected)")
        }
    }
}
