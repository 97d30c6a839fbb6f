/// One LSTM layer with PyTorch `nn.LSTM` semantics: gate order (i, f, g, o), two bias
/// vectors, zero initial state, weights initialised U(−1/√H, 1/√H).
///
/// Buffers are time-major: step t of the batch is the contiguous block `(batch, features)`.
public struct LSTMLayer: Sendable {
    public let inputSize: Int
    public let hiddenSize: Int
    /// W_ih (4H, I), W_hh (4H, H), b_ih (4H), b_hh (4H).
    public let weightIH: ParameterSlice
    public let weightHH: ParameterSlice
    public let biasIH: ParameterSlice
    public let biasHH: ParameterSlice

    public init(inputSize: Int, hiddenSize: Int, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        weightIH = layout.allocate(4 * hiddenSize * inputSize)
        weightHH = layout.allocate(4 * hiddenSize * hiddenSize)
        biasIH = layout.allocate(4 * hiddenSize)
        biasHH = layout.allocate(4 * hiddenSize)
    }

    public func initialize(_ parameters: UnsafeMutablePointer<Float>, random: inout SeededRandom) {
        let bound = 1 / Float(hiddenSize).squareRoot()
        for slice in [weightIH, weightHH, biasIH, biasHH] {
            for index in 0..<slice.count { parameters[slice.offset + index] = random.uniform(-bound, bound) }
        }
    }

    /// Activations kept from the forward pass for the backward pass.
    public final class Cache {
        public let steps: Int
        public let batch: Int
        /// Post-activation gates (T, B, 4H): i, f, g, o.
        var gates: [Float]
        /// Cell states (T+1, B, H); step 0 is the zero initial state.
        var cells: [Float]
        /// Hidden states (T+1, B, H); step 0 is zero. Steps 1…T are the layer's output.
        var hidden: [Float]
        /// tanh(c_t) (T, B, H).
        var cellTanh: [Float]
        /// Gradient of the pre-activation gates (T, B, 4H), filled by backward.
        var gateGradients: [Float]
        /// Recurrent gradients (B, H).
        var hiddenGradient: [Float]
        var cellGradient: [Float]

        init(steps: Int, batch: Int, hidden h: Int) {
            self.steps = steps
            self.batch = batch
            gates = [Float](repeating: 0, count: steps * batch * 4 * h)
            cells = [Float](repeating: 0, count: (steps + 1) * batch * h)
            hidden = [Float](repeating: 0, count: (steps + 1) * batch * h)
            cellTanh = [Float](repeating: 0, count: steps * batch * h)
            gateGradients = [Float](repeating: 0, count: steps * batch * 4 * h)
            hiddenGradient = [Float](repeating: 0, count: batch * h)
            cellGradient = [Float](repeating: 0, count: batch * h)
        }
    }

    public func makeCache(steps: Int, batch: Int) -> Cache {
        Cache(steps: steps, batch: batch, hidden: hiddenSize)
    }

    /// Runs the layer over `input` (T, B, I). The output (T, B, H) is `cache.hidden[B*H...]`.
    /// W_ihᵀ and W_hhᵀ packed for the forward products; valid until the parameters change.
    public struct PackedWeights: Sendable {
        public let input: GEMM.PackedB
        public let recurrent: GEMM.PackedB
    }

    public func packRecurrentWeights(_ p: UnsafePointer<Float>) -> GEMM.PackedB {
        GEMM.pack(transB: true, k: hiddenSize, n: 4 * hiddenSize, b: p + weightHH.offset, ldb: hiddenSize)
    }

    public func packWeights(_ p: UnsafePointer<Float>) -> PackedWeights {
        PackedWeights(
            input: GEMM.pack(transB: true, k: inputSize, n: 4 * hiddenSize, b: p + weightIH.offset, ldb: inputSize),
            recurrent: packRecurrentWeights(p))
    }

    /// `prepacked`: weights from `packWeights` for these parameters (inference reuses them
    /// across calls); without them the recurrent weights are packed once per call.
    public func forward(
        _ input: UnsafePointer<Float>, parameters p: UnsafePointer<Float>, cache: Cache, workspace: GEMM.Workspace,
        prepacked: PackedWeights? = nil
    ) {
        let h = hiddenSize
        let b = cache.batch
        let t = cache.steps
        let g = 4 * h
        cache.gates.withUnsafeMutableBufferPointer { gatesBuffer in
            let gates = gatesBuffer.baseAddress!
            // All input projections at once: (T·B, 4H) = X (T·B, I) · W_ihᵀ, plus both biases.
            if let prepacked {
                GEMM.blocked(
                    transA: false, m: t * b, a: input, lda: inputSize, packedB: prepacked.input,
                    beta: 0, c: gates, ldc: g, workspace: workspace)
            } else {
                GEMM.blocked(
                    transA: false, transB: true, m: t * b, n: g, k: inputSize,
                    a: input, lda: inputSize, b: p + weightIH.offset, ldb: inputSize,
                    beta: 0, c: gates, ldc: g, workspace: workspace)
            }
            addRowVector(p + biasIH.offset, p + biasHH.offset, to: gates, rows: t * b, columns: g)
            cache.cells.withUnsafeMutableBufferPointer { cellsBuffer in
                cache.hidden.withUnsafeMutableBufferPointer { hiddenBuffer in
                    cache.cellTanh.withUnsafeMutableBufferPointer { tanhBuffer in
                        let cells = cellsBuffer.baseAddress!
                        let hidden = hiddenBuffer.baseAddress!
                        let cellTanh = tanhBuffer.baseAddress!
                        let recurrent = prepacked?.recurrent ?? packRecurrentWeights(p)
                        for step in 0..<t {
                            let stepGates = gates + step * b * g  // (B, 4H)
                            let previousHidden = hidden + step * b * h  // (B, H)
                            // (B, 4H) += h_{t-1} (B, H) · W_hhᵀ (H, 4H)
                            GEMM.blocked(
                                transA: false, m: b, a: previousHidden, lda: h, packedB: recurrent,
                                beta: 1, c: stepGates, ldc: g, workspace: workspace)
                            let previousCell = cells + step * b * h
                            let cell = cells + (step + 1) * b * h
                            let output = hidden + (step + 1) * b * h
                            let stepTanh = cellTanh + step * b * h
                            for row in 0..<b {
                                let gate = stepGates + row * g
                                Activations.sigmoid(gate, count: 2 * h)
                                Activations.tanh(gate + 2 * h, count: h)
                                Activations.sigmoid(gate + 3 * h, count: h)
                                let c0 = previousCell + row * h
                                let c1 = cell + row * h
                                let tc = stepTanh + row * h
                                let out = output + row * h
                                // c_t = f ⊙ c_{t−1} + i ⊙ g; h_t = o ⊙ tanh(c_t)
                                var j = 0
                                while j + 8 <= h {
                                    let i = load(gate + j)
                                    let f = load(gate + h + j)
                                    let gg = load(gate + 2 * h + j)
                                    let o = load(gate + 3 * h + j)
                                    let cNew = f * load(c0 + j) + i * gg
                                    store(cNew, c1 + j)
                                    let t = Activations.tanh(cNew)
                                    store(t, tc + j)
                                    store(o * t, out + j)
                                    j += 8
                                }
                                while j < h {
                                    c1[j] = gate[h + j] * c0[j] + gate[j] * gate[2 * h + j]
                                    tc[j] = Activations.scalarTanh(c1[j])
                                    out[j] = gate[3 * h + j] * tc[j]
                                    j += 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Back-propagates `outputGradient` (T, B, H) through time. Accumulates parameter
    /// gradients into `gradients` (+=) and writes the input gradient (T, B, I) if asked.
    public func backward(
        _ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
        parameters p: UnsafePointer<Float>, gradients d: UnsafeMutablePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, cache: Cache, workspace: GEMM.Workspace
    ) {
        let h = hiddenSize
        let b = cache.batch
        let t = cache.steps
        let g = 4 * h
        cache.gates.withUnsafeBufferPointer { gatesBuffer in
            cache.cells.withUnsafeBufferPointer { cellsBuffer in
                cache.hidden.withUnsafeBufferPointer { hiddenBuffer in
                    cache.cellTanh.withUnsafeBufferPointer { tanhBuffer in
                        cache.gateGradients.withUnsafeMutableBufferPointer { gateGradientBuffer in
                            cache.hiddenGradient.withUnsafeMutableBufferPointer { dhBuffer in
                                cache.cellGradient.withUnsafeMutableBufferPointer { dcBuffer in
                                    let gates = gatesBuffer.baseAddress!
                                    let cells = cellsBuffer.baseAddress!
                                    let hidden = hiddenBuffer.baseAddress!
                                    let cellTanh = tanhBuffer.baseAddress!
                                    let dGates = gateGradientBuffer.baseAddress!
                                    let dhNext = dhBuffer.baseAddress!
                                    let dcNext = dcBuffer.baseAddress!
                                    dhNext.update(repeating: 0, count: b * h)
                                    dcNext.update(repeating: 0, count: b * h)
                                    let recurrent = GEMM.pack(transB: false, k: g, n: h, b: p + weightHH.offset, ldb: h)
                                    for step in stride(from: t - 1, through: 0, by: -1) {
                                        for row in 0..<b {
                                            let gate = gates + (step * b + row) * g
                                            let dGate = dGates + (step * b + row) * g
                                            let tc = cellTanh + (step * b + row) * h
                                            let c0 = cells + (step * b + row) * h
                                            let dhOut = outputGradient + (step * b + row) * h
                                            Self.gateGradients(
                                                h, gate: gate, cellTanh: tc, previousCell: c0, outputGradient: dhOut,
                                                hiddenGradient: dhNext + row * h, cellGradient: dcNext + row * h,
                                                gateGradient: dGate)
                                        }
                                        // dh_{t-1} (B, H) = dGates_t (B, 4H) · W_hh (4H, H)
                                        GEMM.blocked(
                                            transA: false, m: b, a: dGates + step * b * g, lda: g, packedB: recurrent,
                                            beta: 0, c: dhNext, ldc: h, workspace: workspace)
                                    }
                                    // dW_hh (4H, H) += dGatesᵀ (4H, T·B) · H_prev (T·B, H)
                                    GEMM.blocked(
                                        transA: true, transB: false, m: g, n: h, k: t * b,
                                        a: dGates, lda: g, b: hidden, ldb: h,
                                        beta: 1, c: d + weightHH.offset, ldc: h, workspace: workspace)
                                    // dW_ih (4H, I) += dGatesᵀ (4H, T·B) · X (T·B, I)
                                    GEMM.blocked(
                                        transA: true, transB: false, m: g, n: inputSize, k: t * b,
                                        a: dGates, lda: g, b: input, ldb: inputSize,
                                        beta: 1, c: d + weightIH.offset, ldc: inputSize, workspace: workspace)
                                    // Both biases receive the column sums of dGates.
                                    addColumnSums(of: dGates, rows: t * b, columns: g, to: d + biasIH.offset)
                                    addColumnSums(of: dGates, rows: t * b, columns: g, to: d + biasHH.offset)
                                    if let inputGradient {
                                        // dX (T·B, I) = dGates (T·B, 4H) · W_ih (4H, I)
                                        GEMM.blocked(
                                            transA: false, transB: false, m: t * b, n: inputSize, k: g,
                                            a: dGates, lda: g, b: p + weightIH.offset, ldb: inputSize,
                                            beta: 0, c: inputGradient, ldc: inputSize, workspace: workspace)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One row's gate gradients at one step (into `gateGradient`, 4H), and the cell gradient carried to the step
    /// before (`cellGradient`, updated in place); `hiddenGradient` is what flows back from the next step.
    @inline(__always)
    static func gateGradients(
        _ h: Int, gate: UnsafePointer<Float>, cellTanh tc: UnsafePointer<Float>, previousCell c0: UnsafePointer<Float>,
        outputGradient dhOut: UnsafePointer<Float>, hiddenGradient dh: UnsafePointer<Float>,
        cellGradient dc: UnsafeMutablePointer<Float>, gateGradient dGate: UnsafeMutablePointer<Float>
    ) {
        var j = 0
        while j + 8 <= h {
            let i = load(gate + j)
            let f = load(gate + h + j)
            let gg = load(gate + 2 * h + j)
            let o = load(gate + 3 * h + j)
            let t = load(tc + j)
            let dhj = load(dhOut + j) + load(dh + j)
            let dcj = load(dc + j) + dhj * o * (1 - t * t)
            store(dcj * gg * i * (1 - i), dGate + j)
            store(dcj * load(c0 + j) * f * (1 - f), dGate + h + j)
            store(dcj * i * (1 - gg * gg), dGate + 2 * h + j)
            store(dhj * t * o * (1 - o), dGate + 3 * h + j)
            store(dcj * f, dc + j)
            j += 8
        }
        while j < h {
            let i = gate[j]
            let f = gate[h + j]
            let gg = gate[2 * h + j]
            let o = gate[3 * h + j]
            let dhj = dhOut[j] + dh[j]
            let dcj = dc[j] + dhj * o * (1 - tc[j] * tc[j])
            dGate[j] = dcj * gg * i * (1 - i)
            dGate[h + j] = dcj * c0[j] * f * (1 - f)
            dGate[2 * h + j] = dcj * i * (1 - gg * gg)
            dGate[3 * h + j] = dhj * tc[j] * o * (1 - o)
            dc[j] = dcj * f
            j += 1
        }
    }
}

@inline(__always)
func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func load(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
}

/// matrix(rows, columns) += a + b, broadcast over rows.
func addRowVector(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, to matrix: UnsafeMutablePointer<Float>, rows: Int,
    columns: Int
) {
    for row in 0..<rows {
        let out = matrix + row * columns
        var j = 0
        while j + 8 <= columns {
            store(load(out + j) + load(a + j) + load(b + j), out + j)
            j += 8
        }
        while j < columns {
            out[j] += a[j] + b[j]
            j += 1
        }
    }
}

/// sums(columns) += Σ over rows of matrix(rows, columns).
func addColumnSums(of matrix: UnsafePointer<Float>, rows: Int, columns: Int, to sums: UnsafeMutablePointer<Float>) {
    var j = 0
    while j + 8 <= columns {
        var total = SIMD8<Float>()
        for row in 0..<rows { total += load(matrix + row * columns + j) }
        store(load(sums + j) + total, sums + j)
        j += 8
    }
    while j < columns {
        var total: Float = 0
        for row in 0..<rows { total += matrix[row * columns + j] }
        sums[j] += total
        j += 1
    }
}
