import Foundation

/// Shape of the forecasting network: stacked LSTM → last hidden state (or attention pooling
/// over all steps, the prototype's "advanced" model) → Dense → ReLU → Dropout → Dense to
/// `horizon × quantiles` outputs (direct multi-horizon).
public struct NetworkConfiguration: Codable, Sendable, Equatable {
    public var inputSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var dropout: Float
    public var headSize: Int
    public var horizon: Int
    public var quantiles: [Float]
    /// Attention pooling over the last layer's hidden states instead of the last state
    /// (absent in older artefacts: off).
    public var attention: Bool?

    public var usesAttention: Bool { attention ?? false }

    public init(
        inputSize: Int, hiddenSize: Int = 128, layers: Int = 3, dropout: Float = 0.2, headSize: Int = 64,
        horizon: Int = 1, quantiles: [Float] = [], attention: Bool = false
    ) {
        self.attention = attention
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.dropout = dropout
        self.headSize = headSize
        self.horizon = horizon
        self.quantiles = quantiles
    }

    /// Outputs per horizon step: one per quantile, or one point forecast.
    public var outputsPerStep: Int { max(1, quantiles.count) }
    public var outputCount: Int { horizon * outputsPerStep }
}

/// The network's layers and parameter layout. Stateless: parameters and gradients are
/// passed in, activations live in a `ForecasterNetwork.Pass`, so several workers can run
/// passes over the same parameters at once.
public struct ForecasterNetwork: Sendable {
    public let configuration: NetworkConfiguration
    public let lstm: [LSTMLayer]
    public let hiddenDense: DenseLayer
    public let outputDense: DenseLayer
    /// Attention scoring vector (H), when attention pooling is on.
    public let attentionWeights: ParameterSlice?
    public let layout: ParameterLayout

    public init(_ configuration: NetworkConfiguration) {
        self.configuration = configuration
        var layout = ParameterLayout()
        var layers: [LSTMLayer] = []
        for index in 0..<configuration.layers {
            let input = index == 0 ? configuration.inputSize : configuration.hiddenSize
            layers.append(LSTMLayer(inputSize: input, hiddenSize: configuration.hiddenSize, layout: &layout))
        }
        lstm = layers
        hiddenDense = DenseLayer(
            inputSize: configuration.hiddenSize, outputSize: configuration.headSize, layout: &layout)
        outputDense = DenseLayer(
            inputSize: configuration.headSize, outputSize: configuration.outputCount, layout: &layout)
        attentionWeights = configuration.usesAttention ? layout.allocate(configuration.hiddenSize) : nil
        self.layout = layout
    }

    public var parameterCount: Int { layout.count }

    public func initialParameters(seed: UInt64) -> [Float] {
        var random = SeededRandom(seed: seed)
        var parameters = [Float](repeating: 0, count: parameterCount)
        parameters.withUnsafeMutableBufferPointer { buffer in
            for layer in lstm { layer.initialize(buffer.baseAddress!, random: &random) }
            hiddenDense.initialize(buffer.baseAddress!, random: &random)
            outputDense.initialize(buffer.baseAddress!, random: &random)
            if let attentionWeights {
                let bound = 1 / Float(configuration.hiddenSize).squareRoot()
                for index in 0..<attentionWeights.count {
                    buffer[attentionWeights.offset + index] = random.uniform(-bound, bound)
                }
            }
        }
        return parameters
    }

    /// Activations of one forward pass over a batch, reused across batches of the same shape.
    public final class Pass {
        public let steps: Int
        public let batch: Int
        let caches: [LSTMLayer.Cache]
        /// Inter-layer dropout masks (already scaled by 1/(1−p)), one per layer after the first.
        var dropoutMasks: [[Float]]
        /// Inputs of layers 2…L after dropout (T, B, H).
        var layerInputs: [[Float]]
        var lastHidden: [Float]  // (B, H): last state, or the attention context
        var attention: [Float]  // (T, B) softmax weights
        var headPre: [Float]  // (B, D) before ReLU
        var headActivated: [Float]  // (B, D) after ReLU and dropout
        var headMask: [Float]  // (B, D)
        public internal(set) var outputs: [Float]  // (B, O)
        // Gradients.
        var dOutputs: [Float]
        var dHead: [Float]
        var dLastHidden: [Float]
        var dLayerOutput: [Float]  // (T, B, H)
        var dLayerInput: [Float]  // (T, B, H)
        let workspace = GEMM.Workspace()

        init(network: ForecasterNetwork, steps: Int, batch: Int) {
            let c = network.configuration
            self.steps = steps
            self.batch = batch
            caches = network.lstm.map { $0.makeCache(steps: steps, batch: batch) }
            let sequence = steps * batch * c.hiddenSize
            dropoutMasks = (1..<max(1, c.layers)).map { _ in [Float](repeating: 1, count: sequence) }
            layerInputs = (1..<max(1, c.layers)).map { _ in [Float](repeating: 0, count: sequence) }
            lastHidden = [Float](repeating: 0, count: batch * c.hiddenSize)
            attention = [Float](repeating: 0, count: steps * batch)
            headPre = [Float](repeating: 0, count: batch * c.headSize)
            headActivated = [Float](repeating: 0, count: batch * c.headSize)
            headMask = [Float](repeating: 1, count: batch * c.headSize)
            outputs = [Float](repeating: 0, count: batch * c.outputCount)
            dOutputs = [Float](repeating: 0, count: batch * c.outputCount)
            dHead = [Float](repeating: 0, count: batch * c.headSize)
            dLastHidden = [Float](repeating: 0, count: batch * c.hiddenSize)
            dLayerOutput = [Float](repeating: 0, count: sequence)
            dLayerInput = [Float](repeating: 0, count: sequence)
        }
    }

    public func makePass(steps: Int, batch: Int) -> Pass {
        Pass(network: self, steps: steps, batch: batch)
    }

    /// Every layer's weights packed once, for repeated inference with fixed parameters.
    public func packWeights(_ parameters: [Float]) -> [LSTMLayer.PackedWeights] {
        parameters.withUnsafeBufferPointer { p in lstm.map { $0.packWeights(p.baseAddress!) } }
    }

    /// Forward over `input` (T, B, F). With `random` (training), applies dropout.
    /// `prepacked` (from `packWeights` of the same parameters) saves repacking.
    public func forward(
        _ input: [Float], parameters: [Float], pass: Pass, random: UnsafeMutablePointer<SeededRandom>?,
        prepacked: [LSTMLayer.PackedWeights]? = nil
    ) {
        let c = configuration
        let h = c.hiddenSize
        let b = pass.batch
        let t = pass.steps
        let keep = 1 - c.dropout
        parameters.withUnsafeBufferPointer { pb in
            let p = pb.baseAddress!
            input.withUnsafeBufferPointer { inputBuffer in
                lstm[0].forward(
                    inputBuffer.baseAddress!, parameters: p, cache: pass.caches[0], workspace: pass.workspace,
                    prepacked: prepacked?[0])
            }
            for index in 1..<max(1, lstm.count) where index < lstm.count {
                let previous = pass.caches[index - 1]
                let count = t * b * h
                pass.dropoutMasks[index - 1].withUnsafeMutableBufferPointer { mask in
                    pass.layerInputs[index - 1].withUnsafeMutableBufferPointer { layerInput in
                        previous.hidden.withUnsafeBufferPointer { hidden in
                            // Layer l's output (steps 1…T of its hidden states), times the mask in training.
                            let output = hidden.baseAddress! + b * h
                            if let random, c.dropout > 0 {
                                for j in 0..<count { mask[j] = random.pointee.unit() < keep ? 1 / keep : 0 }
                                for j in 0..<count { layerInput[j] = output[j] * mask[j] }
                            } else {
                                mask.baseAddress!.update(repeating: 1, count: count)
                                layerInput.baseAddress!.update(from: output, count: count)
                            }
                        }
                    }
                }
                pass.layerInputs[index - 1].withUnsafeBufferPointer { layerInput in
                    lstm[index].forward(
                        layerInput.baseAddress!, parameters: p, cache: pass.caches[index], workspace: pass.workspace,
                        prepacked: prepacked?[index])
                }
            }
            let last = pass.caches[lstm.count - 1]
            if let attentionWeights {
                attend(last.hidden, weights: p + attentionWeights.offset, pass: pass)
            } else {
                for j in 0..<(b * h) { pass.lastHidden[j] = last.hidden[t * b * h + j] }
            }
            pass.lastHidden.withUnsafeBufferPointer { x in
                pass.headPre.withUnsafeMutableBufferPointer { y in
                    hiddenDense.forward(
                        x.baseAddress!, rows: b, parameters: p, output: y.baseAddress!, workspace: pass.workspace)
                }
            }
            pass.headMask.withUnsafeMutableBufferPointer { mask in
                pass.headActivated.withUnsafeMutableBufferPointer { activated in
                    pass.headPre.withUnsafeBufferPointer { pre in
                        for j in 0..<(b * c.headSize) {
                            let keepUnit: Float =
                                (random != nil && c.dropout > 0) ? (random!.pointee.unit() < keep ? 1 / keep : 0) : 1
                            mask[j] = keepUnit
                            activated[j] = max(0, pre[j]) * keepUnit
                        }
                    }
                }
            }
            pass.headActivated.withUnsafeBufferPointer { x in
                pass.outputs.withUnsafeMutableBufferPointer { y in
                    outputDense.forward(
                        x.baseAddress!, rows: b, parameters: p, output: y.baseAddress!, workspace: pass.workspace)
                }
            }
        }
    }

    /// Backward from `pass.dOutputs` (set by the loss); accumulates into `gradients`.
    public func backward(_ input: [Float], parameters: [Float], gradients: inout [Float], pass: Pass) {
        let c = configuration
        let h = c.hiddenSize
        let b = pass.batch
        let t = pass.steps
        parameters.withUnsafeBufferPointer { pb in
            gradients.withUnsafeMutableBufferPointer { gb in
                let p = pb.baseAddress!
                let d = gb.baseAddress!
                pass.dOutputs.withUnsafeBufferPointer { dy in
                    pass.headActivated.withUnsafeBufferPointer { x in
                        pass.dHead.withUnsafeMutableBufferPointer { dx in
                            outputDense.backward(
                                dy.baseAddress!, input: x.baseAddress!, rows: b, parameters: p, gradients: d,
                                inputGradient: dx.baseAddress!, workspace: pass.workspace)
                        }
                    }
                }
                for j in 0..<(b * c.headSize) {
                    pass.dHead[j] = pass.headPre[j] > 0 ? pass.dHead[j] * pass.headMask[j] : 0
                }
                pass.dHead.withUnsafeBufferPointer { dy in
                    pass.lastHidden.withUnsafeBufferPointer { x in
                        pass.dLastHidden.withUnsafeMutableBufferPointer { dx in
                            hiddenDense.backward(
                                dy.baseAddress!, input: x.baseAddress!, rows: b, parameters: p, gradients: d,
                                inputGradient: dx.baseAddress!, workspace: pass.workspace)
                        }
                    }
                }
                pass.dLayerOutput.withUnsafeMutableBufferPointer { dy in
                    dy.update(repeating: 0)
                    if let attentionWeights {
                        attendBackward(
                            pass.caches[lstm.count - 1].hidden, weights: p + attentionWeights.offset,
                            weightGradient: d + attentionWeights.offset, hiddenGradient: dy.baseAddress!, pass: pass)
                    } else {
                        // Only the last step feeds the head: dH is zero elsewhere.
                        pass.dLastHidden.withUnsafeBufferPointer { last in
                            for j in 0..<(b * h) { dy[(t - 1) * b * h + j] = last[j] }
                        }
                    }
                }
                for index in stride(from: lstm.count - 1, through: 0, by: -1) {
                    let needsInputGradient = index > 0
                    let run = { (layerInput: UnsafePointer<Float>) in
                        pass.dLayerOutput.withUnsafeBufferPointer { dy in
                            pass.dLayerInput.withUnsafeMutableBufferPointer { dx in
                                lstm[index].backward(
                                    dy.baseAddress!, input: layerInput, parameters: p, gradients: d,
                                    inputGradient: needsInputGradient ? dx.baseAddress! : nil,
                                    cache: pass.caches[index], workspace: pass.workspace)
                            }
                        }
                    }
                    if index == 0 {
                        input.withUnsafeBufferPointer { run($0.baseAddress!) }
                    } else {
                        pass.layerInputs[index - 1].withUnsafeBufferPointer { run($0.baseAddress!) }
                        // Through the dropout mask to the previous layer's output.
                        pass.dLayerOutput.withUnsafeMutableBufferPointer { dy in
                            pass.dLayerInput.withUnsafeBufferPointer { dx in
                                pass.dropoutMasks[index - 1].withUnsafeBufferPointer { mask in
                                    for j in 0..<(t * b * h) { dy[j] = dx[j] * mask[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Attention pooling: e_t = h_t · w, α = softmax_t(e), context = Σ_t α_t h_t.
    /// `hidden` is the last layer's (T+1, B, H) state buffer (step 0 is the zero state).
    func attend(_ hidden: [Float], weights w: UnsafePointer<Float>, pass: Pass) {
        let h = configuration.hiddenSize
        let b = pass.batch
        let t = pass.steps
        for row in 0..<b {
            var scores = [Float](repeating: 0, count: t)
            for step in 0..<t {
                let state = (step + 1) * b * h + row * h
                var score: Float = 0
                for j in 0..<h { score += hidden[state + j] * w[j] }
                scores[step] = score
            }
            let peak = scores.max() ?? 0
            let exps = scores.map { Foundation.exp($0 - peak) }
            let total = exps.reduce(0, +)
            for j in 0..<h { pass.lastHidden[row * h + j] = 0 }
            for step in 0..<t {
                let alpha = exps[step] / total
                pass.attention[step * b + row] = alpha
                let state = (step + 1) * b * h + row * h
                for j in 0..<h { pass.lastHidden[row * h + j] += alpha * hidden[state + j] }
            }
        }
    }

    /// Backward of `attend`: writes dH (T, B, H) and accumulates dw.
    func attendBackward(
        _ hidden: [Float], weights w: UnsafePointer<Float>, weightGradient dw: UnsafeMutablePointer<Float>,
        hiddenGradient dH: UnsafeMutablePointer<Float>, pass: Pass
    ) {
        let h = configuration.hiddenSize
        let b = pass.batch
        let t = pass.steps
        for row in 0..<b {
            let dContext = Array(pass.dLastHidden[(row * h)..<((row + 1) * h)])
            var dAlpha = [Float](repeating: 0, count: t)
            for step in 0..<t {
                let state = (step + 1) * b * h + row * h
                for j in 0..<h { dAlpha[step] += hidden[state + j] * dContext[j] }
            }
            var weighted: Float = 0
            for step in 0..<t { weighted += pass.attention[step * b + row] * dAlpha[step] }
            for step in 0..<t {
                let alpha = pass.attention[step * b + row]
                let dScore = alpha * (dAlpha[step] - weighted)
                let state = (step + 1) * b * h + row * h
                let out = dH + step * b * h + row * h
                for j in 0..<h {
                    out[j] = alpha * dContext[j] + dScore * w[j]
                    dw[j] += dScore * hidden[state + j]
                }
            }
        }
    }

    /// Mean loss of the batch; fills `pass.dOutputs` with dLoss/dOutputs.
    public func loss(_ loss: Loss, targets: [Float], pass: Pass) -> Float {
        pass.outputs.withUnsafeBufferPointer { y in
            targets.withUnsafeBufferPointer { target in
                pass.dOutputs.withUnsafeMutableBufferPointer { dy in
                    loss.evaluate(
                        predictions: y.baseAddress!, targets: target.baseAddress!, count: y.count,
                        gradient: dy.baseAddress!)
                }
            }
        }
    }
}
