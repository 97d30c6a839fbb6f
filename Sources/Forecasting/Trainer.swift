import Foundation

/// Hyper-parameters of one training run (defaults: the prototype's recipe).
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    public var sequenceLength = 24
    public var hiddenSize = 128
    public var layers = 3
    public var dropout: Float = 0.2
    public var headSize = 64
    public var learningRate: Float = 0.0005
    public var batchSize = 64
    public var epochs = 50
    public var horizon = 1
    public var quantiles: [Float] = []
    public var seed: UInt64 = 42
    public var gradientClip: Float = 1.0
    /// ReduceLROnPlateau: halve the rate after this many epochs without improvement.
    public var plateauPatience = 5
    public var plateauFactor: Float = 0.5
    /// Early stopping: stop after this many epochs without improvement; best weights restored.
    public var earlyStoppingPatience = 10
    public var trainFraction = 0.7
    public var validationFraction = 0.15

    public init() {}
}

public struct EpochReport: Sendable {
    public var epoch: Int
    public var trainLoss: Float
    public var validationLoss: Float
    public var learningRate: Float
    public var seconds: Double
    public var isBest: Bool
}

/// Mini-batch training with Adam, gradient clipping, ReduceLROnPlateau and early stopping
/// on the validation loss. Deterministic given `configuration.seed`.
public struct Trainer {
    public let configuration: TrainingConfiguration
    public let network: ForecasterNetwork
    public private(set) var parameters: [Float]

    public init(configuration: TrainingConfiguration, inputSize: Int) {
        self.configuration = configuration
        network = ForecasterNetwork(NetworkConfiguration(
            inputSize: inputSize, hiddenSize: configuration.hiddenSize, layers: configuration.layers,
            dropout: configuration.dropout, headSize: configuration.headSize,
            horizon: configuration.horizon, quantiles: configuration.quantiles))
        parameters = network.initialParameters(seed: configuration.seed)
    }

    var loss: Loss {
        configuration.quantiles.isEmpty ? .meanSquaredError : .pinball(quantiles: configuration.quantiles)
    }

    /// Expands per-horizon targets (B, H) to the network's outputs (B, H·Q).
    func expandTargets(_ targets: [Float]) -> [Float] {
        let q = network.configuration.outputsPerStep
        guard q > 1 else { return targets }
        return targets.flatMap { [Float](repeating: $0, count: q) }
    }

    public mutating func train(_ data: WindowDataset, progress: (EpochReport) -> Void) -> (epochs: Int, bestValidationLoss: Float) {
        var random = SeededRandom(seed: configuration.seed &+ 1)
        var adam = Adam(parameterCount: network.parameterCount, learningRate: configuration.learningRate)
        var gradients = [Float](repeating: 0, count: network.parameterCount)
        var passes: [Int: ForecasterNetwork.Pass] = [:]
        var input: [Float] = []
        var target: [Float] = []
        var best = Float.infinity
        var bestParameters = parameters
        var sinceBest = 0
        var sincePlateau = 0
        var plateauBest = Float.infinity
        var epochsRun = 0
        for epoch in 1...max(1, configuration.epochs) {
            let started = ContinuousClock.now
            var order = data.train
            order.shuffle(using: &random)
            var totalLoss: Double = 0
            var batches = 0
            var start = 0
            while start < order.count {
                let windows = order[start..<min(order.count, start + configuration.batchSize)]
                start += configuration.batchSize
                data.batch(windows, input: &input, target: &target)
                let pass = passes[windows.count] ?? network.makePass(steps: data.sequenceLength, batch: windows.count)
                passes[windows.count] = pass
                withUnsafeMutablePointer(to: &random) { network.forward(input, parameters: parameters, pass: pass, random: $0) }
                totalLoss += Double(network.loss(loss, targets: expandTargets(target), pass: pass))
                for index in gradients.indices { gradients[index] = 0 }
                network.backward(input, parameters: parameters, gradients: &gradients, pass: pass)
                clipGradientNorm(&gradients, maxNorm: configuration.gradientClip)
                adam.update(&parameters, gradients: gradients)
                batches += 1
            }
            let validationLoss = evaluateLoss(data, windows: data.validation.isEmpty ? data.train : data.validation)
            let isBest = validationLoss < best
            if isBest {
                best = validationLoss
                bestParameters = parameters
                sinceBest = 0
            } else {
                sinceBest += 1
            }
            // ReduceLROnPlateau (mode min, threshold 1e-4 relative, like PyTorch's default).
            if validationLoss < plateauBest * (1 - 1e-4) {
                plateauBest = validationLoss
                sincePlateau = 0
            } else {
                sincePlateau += 1
                if sincePlateau > configuration.plateauPatience {
                    adam.learningRate *= configuration.plateauFactor
                    sincePlateau = 0
                }
            }
            epochsRun = epoch
            progress(EpochReport(epoch: epoch, trainLoss: Float(totalLoss / Double(max(1, batches))), validationLoss: validationLoss,
                                 learningRate: adam.learningRate, seconds: (ContinuousClock.now - started).secondsValue, isBest: isBest))
            if sinceBest >= configuration.earlyStoppingPatience { break }
        }
        parameters = bestParameters
        return (epochsRun, best)
    }

    /// Mean loss (eval mode, no dropout) over `windows`.
    public func evaluateLoss(_ data: WindowDataset, windows: [Int]) -> Float {
        var total: Double = 0
        let predictions = predict(data, windows: windows)
        var gradient = [Float](repeating: 0, count: predictions.count)
        var input: [Float] = [], target: [Float] = []
        data.batch(windows[...], input: &input, target: &target)
        let expanded = expandTargets(target)
        total = Double(loss.evaluate(predictions: predictions, targets: expanded, count: predictions.count, gradient: &gradient))
        return Float(total)
    }

    /// Network outputs (windows, H·Q) in scaled units.
    public func predict(_ data: WindowDataset, windows: [Int], batchSize: Int = 256) -> [Float] {
        ForecastRunner(network: network, parameters: parameters).predict(data, windows: windows, batchSize: batchSize)
    }
}

/// Inference over windows with a fixed set of parameters.
public struct ForecastRunner {
    public let network: ForecasterNetwork
    public let parameters: [Float]

    public init(network: ForecasterNetwork, parameters: [Float]) {
        self.network = network
        self.parameters = parameters
    }

    public func predict(_ data: WindowDataset, windows: [Int], batchSize: Int = 256) -> [Float] {
        var outputs: [Float] = []
        var input: [Float] = [], target: [Float] = []
        var passes: [Int: ForecasterNetwork.Pass] = [:]
        var start = 0
        while start < windows.count {
            let slice = windows[start..<min(windows.count, start + batchSize)]
            start += batchSize
            data.batch(slice, input: &input, target: &target)
            let pass = passes[slice.count] ?? network.makePass(steps: data.sequenceLength, batch: slice.count)
            passes[slice.count] = pass
            network.forward(input, parameters: parameters, pass: pass, random: nil)
            outputs.append(contentsOf: pass.outputs)
        }
        return outputs
    }
}

extension Duration {
    var secondsValue: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
