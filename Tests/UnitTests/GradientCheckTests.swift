import Foundation
import Testing

@testable import Forecasting

/// Finite-difference checks of every layer's backward pass, through the whole network.
@Suite("Gradients by finite differences")
struct GradientCheckTests {
    struct Case: Sendable, CustomStringConvertible {
        var layers: Int
        var loss: Loss
        var horizon: Int
        var attention = false
        var description: String { "layers=\(layers) loss=\(loss) horizon=\(horizon) attention=\(attention)" }
    }

    @Test(arguments: [
        Case(layers: 1, loss: .meanSquaredError, horizon: 1),
        Case(layers: 2, loss: .meanSquaredError, horizon: 3),
        Case(layers: 3, loss: .meanSquaredError, horizon: 2),
        Case(layers: 2, loss: .meanSquaredError, horizon: 2, attention: true),
    ])
    func networkGradientsMatchFiniteDifferences(_ testCase: Case) {
        let configuration = NetworkConfiguration(
            inputSize: 3, hiddenSize: 5, layers: testCase.layers, dropout: 0, headSize: 4, horizon: testCase.horizon,
            quantiles: { if case .pinball(let q) = testCase.loss { return q } else { return [] } }(),
            attention: testCase.attention)
        let network = ForecasterNetwork(configuration)
        var parameters = network.initialParameters(seed: 7)
        let steps = 4
        let batch = 3
        var random = SeededRandom(seed: 11)
        let input = (0..<(steps * batch * 3)).map { _ in random.uniform(-1, 1) }
        let targets = (0..<(batch * configuration.outputCount)).map { _ in random.uniform(-1, 1) }
        let pass = network.makePass(steps: steps, batch: batch)

        func lossValue(_ p: [Float]) -> Double {
            network.forward(input, parameters: p, pass: pass, random: nil)
            // Recompute in Double for a cleaner finite difference.
            var total = 0.0
            for (index, y) in pass.outputs.enumerated() {
                let e = Double(targets[index]) - Double(y)
                switch testCase.loss {
                case .meanSquaredError: total += e * e
                case .pinball(let q):
                    let quantile = Double(q[index % q.count])
                    total += max(quantile * e, (quantile - 1) * e)
                }
            }
            return total / Double(pass.outputs.count)
        }

        network.forward(input, parameters: parameters, pass: pass, random: nil)
        _ = network.loss(testCase.loss, targets: targets, pass: pass)
        var gradients = [Float](repeating: 0, count: network.parameterCount)
        network.backward(input, parameters: parameters, gradients: &gradients, pass: pass)

        // ReLU is not differentiable at 0: a probe whose perturbation flips any ReLU unit
        // measures the kink, not the gradient, and is skipped (and counted).
        let basePattern = pass.headPre.map { $0 > 0 }
        var checked = 0
        var skipped = 0
        for index in stride(from: 0, to: network.parameterCount, by: max(1, network.parameterCount / 60)) {
            let original = parameters[index]
            let epsilon: Float = 1e-2
            parameters[index] = original + epsilon
            let plus = lossValue(parameters)
            let plusPattern = pass.headPre.map { $0 > 0 }
            parameters[index] = original - epsilon
            let minus = lossValue(parameters)
            let minusPattern = pass.headPre.map { $0 > 0 }
            parameters[index] = original
            if plusPattern != basePattern || minusPattern != basePattern {
                skipped += 1
                continue
            }
            let numeric = (plus - minus) / Double(2 * epsilon)
            let analytic = Double(gradients[index])
            let tolerance = 2e-4 + 0.03 * max(abs(numeric), abs(analytic))
            #expect(abs(numeric - analytic) <= tolerance, "parameter \(index): analytic \(analytic) numeric \(numeric)")
            checked += 1
        }
        #expect(checked >= 40 && skipped <= 20, "checked \(checked), skipped \(skipped) at ReLU kinks")
    }
}

@Suite("Losses")
struct LossTests {
    @Test func pinballValueAndGradient() {
        // Quantiles (0.1, 0.9) at one horizon step; targets 1, predictions 0 and 3.
        let loss = Loss.pinball(quantiles: [0.1, 0.9])
        let predictions: [Float] = [0, 3]
        let targets: [Float] = [1, 1]
        var gradient: [Float] = [0, 0]
        let value = loss.evaluate(predictions: predictions, targets: targets, count: 2, gradient: &gradient)
        // q=0.1, e=1 → 0.1; q=0.9, e=−2 → (0.9−1)(−2) = 0.2; mean 0.15
        #expect(abs(value - 0.15) < 1e-6)
        let expected: [Float] = [-0.05, 0.05]
        #expect(abs(gradient[0] - expected[0]) < 1e-7)
        #expect(abs(gradient[1] - expected[1]) < 1e-7)
    }

    @Test func meanSquaredErrorValueAndGradient() {
        var gradient: [Float] = [0, 0]
        let value = Loss.meanSquaredError.evaluate(
            predictions: [1, 2], targets: [0, 4], count: 2, gradient: &gradient)
        #expect(value == 2.5)
        #expect(gradient == [1, -2])
    }
}

@Suite("Adam and clipping")
struct AdamTests {
    @Test func twoStepsMatchHandComputedValues() {
        // Hand-computed with PyTorch's formulas, lr 0.1, betas (0.9, 0.999), eps 1e-8:
        // step 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g² → p -= 0.1·g/(|g| + 1e-8) = 0.1·sign(g)
        var parameters: [Float] = [1, -2]
        var adam = Adam(parameterCount: 2, learningRate: 0.1)
        adam.update(&parameters, gradients: [0.5, -4])
        #expect(abs(parameters[0] - 0.9) < 1e-6)
        #expect(abs(parameters[1] - (-1.9)) < 1e-6)
        // step 2 with g = [0.5, 0]: m = 0.9·0.05 + 0.05 = 0.095, v = 0.999·0.00025 + 0.00025 = 0.00049975
        // m̂ = 0.095/0.19 = 0.5, v̂ = 0.00049975/0.001999 = 0.25 → step 0.1·0.5/0.5 = 0.1
        adam.update(&parameters, gradients: [0.5, 0])
        #expect(abs(parameters[0] - 0.8) < 1e-5)
        // second parameter: m = 0.9·(−0.4) = −0.36, m̂ = −1.8947; v = 0.999·0.016 = 0.015984, v̂ = 7.996
        // step = 0.1 · (−1.8947)/2.8277 = −0.067005 → −1.9 + 0.067005
        #expect(abs(parameters[1] - (-1.832995)) < 1e-4)
    }

    @Test func clippingScalesToTheMaximumNorm() {
        var gradients: [Float] = [3, 4]
        let norm = clipGradientNorm(&gradients, maxNorm: 1)
        #expect(norm == 5)
        #expect(abs(gradients[0] - 0.6) < 1e-5 && abs(gradients[1] - 0.8) < 1e-5)
        var small: [Float] = [0.1, 0.1]
        clipGradientNorm(&small, maxNorm: 1)
        #expect(small == [0.1, 0.1])
    }
}
