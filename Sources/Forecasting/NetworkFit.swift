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
    /// Attention pooling over all steps (the prototype's "advanced" model).
    public var attention = false
    public var gradientClip: Float = 1.0
    /// ReduceLROnPlateau: halve the rate after this many epochs without improvement.
    public var plateauPatience = 5
    public var plateauFactor: Float = 0.5
    /// Early stopping: stop after this many epochs without improvement; best weights restored.
    public var earlyStoppingPatience = 10
    /// Training stops after the epoch that ends past this much wall time, keeping the best epoch so far
    /// (a trainer's per-policy deadline). Nil: no limit.
    public var wallTimeLimit: Duration?
    /// Exponential moving average of the weights (Polyak averaging), updated after every
    /// step with this decay; validation, early stopping and the saved model use the average.
    /// 0 turns it off.
    public var weightAveraging: Float = 0
    /// Take level features and targets relative to each window's mean (see `WindowDataset`).
    public var levelNormalization = true
    /// Rows averaged into a window's level (1: its last value).
    public var levelSpan = 1
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
public struct NetworkFit: Sendable {
    public let configuration: TrainingConfiguration
    public let network: ForecasterNetwork
    public private(set) var parameters: [Float]

    public init(configuration: TrainingConfiguration, inputSize: Int) {
        self.configuration = configuration
        network = ForecasterNetwork(
            NetworkConfiguration(
                inputSize: inputSize, hiddenSize: configuration.hiddenSize, layers: configuration.layers,
                dropout: configuration.dropout, headSize: configuration.headSize,
                horizon: configuration.horizon, quantiles: configuration.quantiles, attention: configuration.attention))
        parameters = network.initialParameters(seed: configuration.seed)
    }

    /// A trainer holding a saved model's parameters (for evaluation and inference).
    public init(restoring artefact: ModelArtefact) {
        var configuration = TrainingConfiguration()
        let network = artefact.header.network
        configuration.sequenceLength = artefact.header.sequenceLength
        configuration.hiddenSize = network.hiddenSize
        configuration.layers = network.layers
        configuration.dropout = network.dropout
        configuration.headSize = network.headSize
        configuration.horizon = network.horizon
        configuration.quantiles = network.quantiles
        configuration.attention = network.usesAttention
        configuration.levelNormalization = artefact.header.levelNormalization ?? false
        configuration.levelSpan = artefact.header.levelSpan ?? 1
        self.configuration = configuration
        self.network = ForecasterNetwork(network)
        parameters = artefact.parameters
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

    /// One worker's share of a mini-batch: its own activations, gradients and dropout stream.
    final class Worker: @unchecked Sendable {
        var passes: [Int: ForecasterNetwork.Pass] = [:]
        var gradients: [Float]
        var input: [Float] = []
        var target: [Float] = []
        var loss: Float = 0
        var count = 0

        init(parameterCount: Int) {
            gradients = [Float](repeating: 0, count: parameterCount)
        }
    }

    /// Trains on `data.train`, data-parallel over `workers` threads: each mini-batch is split
    /// into equal shares whose gradients are summed in a fixed order, so the result does not
    /// depend on thread timing.
    public mutating func train(_ data: WindowDataset, workers: Int = 1, progress: (EpochReport) -> Void) -> (
        epochs: Int, bestValidationLoss: Float
    ) {
        var random = SeededRandom(seed: configuration.seed &+ 1)
        var adam = Adam(parameterCount: network.parameterCount, learningRate: configuration.learningRate)
        var gradients = [Float](repeating: 0, count: network.parameterCount)
        let pool = (0..<max(1, workers)).map { _ in Worker(parameterCount: network.parameterCount) }
        var best = Float.infinity
        var bestParameters = parameters
        var sinceBest = 0
        var sincePlateau = 0
        var plateauBest = Float.infinity
        var epochsRun = 0
        let decay = configuration.weightAveraging
        var averaged = parameters
        let trainingStarted = ContinuousClock.now
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
                totalLoss += batchGradients(windows, data: data, pool: pool, random: &random, into: &gradients)
                clipGradientNorm(&gradients, maxNorm: configuration.gradientClip)
                adam.update(&parameters, gradients: gradients)
                if decay > 0 {
                    averaged.withUnsafeMutableBufferPointer { average in
                        parameters.withUnsafeBufferPointer { current in
                            for index in 0..<average.count {
                                average[index] += (1 - decay) * (current[index] - average[index])
                            }
                        }
                    }
                }
                batches += 1
            }
            // Judge (and keep) the averaged weights when averaging; training continues from the raw ones.
            let judged = decay > 0 ? averaged : parameters
            let validationLoss = evaluateLoss(
                data, windows: data.validation.isEmpty ? data.train : data.validation, parameters: judged)
            let isBest = validationLoss < best
            if isBest {
                best = validationLoss
                bestParameters = judged
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
            progress(
                EpochReport(
                    epoch: epoch, trainLoss: Float(totalLoss / Double(max(1, batches))), validationLoss: validationLoss,
                    learningRate: adam.learningRate, seconds: (ContinuousClock.now - started).secondsValue,
                    isBest: isBest))
            if sinceBest >= configuration.earlyStoppingPatience { break }
            if let limit = configuration.wallTimeLimit, ContinuousClock.now - trainingStarted >= limit { break }
        }
        parameters = bestParameters
        return (epochsRun, best)
    }

    /// One mini-batch's gradient into `gradients`, split into equal shares computed in parallel and summed in a
    /// fixed order (weighted by share size); returns the batch's mean loss.
    private func batchGradients(
        _ windows: ArraySlice<Int>, data: WindowDataset, pool: [Worker], random: inout SeededRandom,
        into gradients: inout [Float]
    ) -> Double {
        let shares = min(pool.count, windows.count)
        let seeds = (0..<shares).map { _ in random.next() }
        let snapshot = parameters
        let network = self.network
        let loss = self.loss
        let trainer = self
        DispatchQueue.concurrentPerform(iterations: shares) { index in
            let worker = pool[index]
            let lower = windows.startIndex + windows.count * index / shares
            let upper = windows.startIndex + windows.count * (index + 1) / shares
            let share = windows[lower..<upper]
            data.batch(share, input: &worker.input, target: &worker.target)
            let pass =
                worker.passes[share.count] ?? network.makePass(steps: data.sequenceLength, batch: share.count)
            worker.passes[share.count] = pass
            var workerRandom = SeededRandom(seed: seeds[index])
            withUnsafeMutablePointer(to: &workerRandom) {
                network.forward(worker.input, parameters: snapshot, pass: pass, random: $0)
            }
            worker.loss = network.loss(loss, targets: trainer.expandTargets(worker.target), pass: pass)
            worker.count = share.count
            worker.gradients.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            network.backward(worker.input, parameters: snapshot, gradients: &worker.gradients, pass: pass)
        }
        // Each share's loss is a mean over its own windows: weight by share size.
        gradients.withUnsafeMutableBufferPointer { total in
            total.update(repeating: 0)
            for worker in pool.prefix(shares) {
                let weight = Float(worker.count) / Float(windows.count)
                worker.gradients.withUnsafeBufferPointer { g in
                    for index in 0..<total.count { total[index] += weight * g[index] }
                }
            }
        }
        return pool.prefix(shares).reduce(0.0) { $0 + Double($1.loss) * Double($1.count) } / Double(windows.count)
    }

    /// Mean loss (eval mode, no dropout) over `windows`.
    public func evaluateLoss(_ data: WindowDataset, windows: [Int]) -> Float {
        evaluateLoss(data, windows: windows, parameters: parameters)
    }

    func evaluateLoss(_ data: WindowDataset, windows: [Int], parameters: [Float]) -> Float {
        let predictions = ForecastRunner(network: network, parameters: parameters).predict(data, windows: windows)
        var gradient = [Float](repeating: 0, count: predictions.count)
        let expanded = expandTargets(data.absoluteTargets(windows))
        return loss.evaluate(predictions: predictions, targets: expanded, count: predictions.count, gradient: &gradient)
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

    /// LSTM weights packed once for every prediction made with these parameters.
    public let packedWeights: [LSTMLayer.PackedWeights]

    public init(network: ForecasterNetwork, parameters: [Float]) {
        self.network = network
        self.parameters = parameters
        packedWeights = network.packWeights(parameters)
    }

    public func predict(_ data: WindowDataset, windows: [Int], batchSize: Int = 256) -> [Float] {
        var outputs: [Float] = []
        var input: [Float] = []
        var target: [Float] = []
        var passes: [Int: ForecasterNetwork.Pass] = [:]
        var start = 0
        while start < windows.count {
            let slice = windows[start..<min(windows.count, start + batchSize)]
            start += batchSize
            data.batch(slice, input: &input, target: &target)
            let pass = passes[slice.count] ?? network.makePass(steps: data.sequenceLength, batch: slice.count)
            passes[slice.count] = pass
            network.forward(input, parameters: parameters, pass: pass, random: nil, prepacked: packedWeights)
            let perWindow = network.configuration.outputCount
            for (index, window) in slice.enumerated() {
                let level = data.level(window)
                outputs.append(
                    contentsOf: pass.outputs[(index * perWindow)..<((index + 1) * perWindow)].map { $0 + level })
            }
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

/// Immutable after init (weights packed once); every prediction allocates its own passes,
/// so one runner serves concurrent reconciles.
extension ForecastRunner: @unchecked Sendable {}
