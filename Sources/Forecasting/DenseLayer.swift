/// A fully connected layer, PyTorch `nn.Linear`: y = x·Wᵀ + b, W (out, in), initialised
/// U(−1/√in, 1/√in).
public struct DenseLayer: Sendable {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: ParameterSlice
    public let bias: ParameterSlice

    public init(inputSize: Int, outputSize: Int, layout: inout ParameterLayout) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = layout.allocate(outputSize * inputSize)
        bias = layout.allocate(outputSize)
    }

    public func initialize(_ parameters: UnsafeMutablePointer<Float>, random: inout SeededRandom) {
        let bound = 1 / Float(inputSize).squareRoot()
        for slice in [weight, bias] {
            for index in 0..<slice.count { parameters[slice.offset + index] = random.uniform(-bound, bound) }
        }
    }

    /// output (rows, out) = input (rows, in) · Wᵀ + b
    public func forward(
        _ input: UnsafePointer<Float>, rows: Int, parameters p: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, workspace: GEMM.Workspace
    ) {
        GEMM.blocked(
            transA: false, transB: true, m: rows, n: outputSize, k: inputSize,
            a: input, lda: inputSize, b: p + weight.offset, ldb: inputSize,
            beta: 0, c: output, ldc: outputSize, workspace: workspace)
        for row in 0..<rows {
            for j in 0..<outputSize { output[row * outputSize + j] += p[bias.offset + j] }
        }
    }

    /// dW += dYᵀ·X, db += Σ dY, dX = dY·W (when asked).
    public func backward(
        _ outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows: Int,
        parameters p: UnsafePointer<Float>, gradients d: UnsafeMutablePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, workspace: GEMM.Workspace
    ) {
        GEMM.blocked(
            transA: true, transB: false, m: outputSize, n: inputSize, k: rows,
            a: outputGradient, lda: outputSize, b: input, ldb: inputSize,
            beta: 1, c: d + weight.offset, ldc: inputSize, workspace: workspace)
        for row in 0..<rows {
            for j in 0..<outputSize { d[bias.offset + j] += outputGradient[row * outputSize + j] }
        }
        if let inputGradient {
            GEMM.blocked(
                transA: false, transB: false, m: rows, n: inputSize, k: outputSize,
                a: outputGradient, lda: outputSize, b: p + weight.offset, ldb: inputSize,
                beta: 0, c: inputGradient, ldc: inputSize, workspace: workspace)
        }
    }
}
