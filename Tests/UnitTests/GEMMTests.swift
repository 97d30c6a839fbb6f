import CPUFeatures
import Testing

@testable import Forecasting

@Suite("GEMM: blocked kernel against the naive reference")
struct GEMMTests {
    @Test(
        "shapes and transposes",
        arguments: [
            (1, 1, 1), (6, 16, 8), (7, 17, 9), (20, 70, 130), (13, 5, 300), (3, 40, 600),
            // last A panel of 2, 4 and 5 rows: two-row kernel over B-panel pairs (odd panel counts, partial last
            // panels)
            (32, 48, 20), (14, 30, 17), (10, 64, 9), (11, 40, 260), (2, 70, 12),
            // one row: the vector kernel, k unrolled by 4 with remainders and k-blocks
            (1, 512, 128), (1, 33, 7), (1, 70, 601),
        ])
    func blockedMatchesNaive(shape: (Int, Int, Int)) {
        checkBlockedAgainstNaive(shape: shape)
    }

    /// The AVX-512 kernel (six rows × two B panels) and the portable one compute every
    /// element with the same fused multiply-adds in the same order: on a machine with
    /// AVX-512 both run here and must agree bit for bit, and each with the reference.
    @Test(
        "the AVX-512 kernel and the portable kernel agree bit for bit",
        arguments: [(6, 32, 8), (12, 48, 300), (32, 512, 128), (7, 33, 9), (30, 70, 257), (5, 40, 20), (13, 17, 3)])
    func wideAndPortableKernelsAgree(shape: (Int, Int, Int)) {
        guard fs_cpu_has_avx512f() != 0 else {
            let wide = GEMM.wideKernels.load(ordering: .relaxed)
            #expect(!wide, "the AVX-512 kernel is never on without AVX-512")
            print("GEMM: no AVX-512 on this machine; only the portable kernel runs")
            return
        }
        let (m, n, k) = shape
        var random = SeededRandom(seed: UInt64(m * 7 + n * 3 + k))
        let a = (0..<(m * k)).map { _ in random.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in random.uniform(-1, 1) }
        let start = (0..<(m * n)).map { _ in random.uniform(-1, 1) }
        let workspace = GEMM.Workspace()
        func run(wide: Bool, beta: Float) -> [Float] {
            // Other tests running meanwhile see either kernel; both give the same bits.
            let before = GEMM.wideKernels.exchange(wide, ordering: .relaxed)
            defer { GEMM.wideKernels.store(before, ordering: .relaxed) }
            var c = start
            GEMM.blocked(
                transA: false, transB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: beta, c: &c, ldc: n,
                workspace: workspace)
            return c
        }
        for beta: Float in [0, 1] {
            let wide = run(wide: true, beta: beta)
            let portable = run(wide: false, beta: beta)
            #expect(wide == portable, "beta \(beta): \(zip(wide, portable).filter { $0 != $1 }.count) elements differ")
            var expected = start
            GEMM.naive(
                transA: false, transB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: beta,
                c: &expected, ldc: n)
            let worst = zip(expected, wide).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4 * Float(k).squareRoot(), "beta \(beta): max error \(worst)")
        }
    }

    func checkBlockedAgainstNaive(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var random = SeededRandom(seed: UInt64(m * 1000 + n * 10 + k))
        let workspace = GEMM.Workspace()
        for transA in [false, true] {
            for transB in [false, true] {
                for beta: Float in [0, 1] {
                    let a = (0..<(m * k)).map { _ in random.uniform(-1, 1) }
                    let b = (0..<(k * n)).map { _ in random.uniform(-1, 1) }
                    let start = (0..<(m * n)).map { _ in random.uniform(-1, 1) }
                    var expected = start
                    var actual = start
                    let lda = transA ? m : k
                    let ldb = transB ? k : n
                    GEMM.naive(
                        transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                        c: &expected, ldc: n)
                    GEMM.blocked(
                        transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                        c: &actual, ldc: n, workspace: workspace)
                    var prepacked = start
                    let packed = b.withUnsafeBufferPointer {
                        GEMM.pack(transB: transB, k: k, n: n, b: $0.baseAddress!, ldb: ldb)
                    }
                    GEMM.blocked(
                        transA: transA, m: m, a: a, lda: lda, packedB: packed, beta: beta, c: &prepacked, ldc: n,
                        workspace: workspace)
                    // Sums of k products of values in [−1, 1]: rounding grows like √k·ε. The
                    // one-row pre-packed kernel sums in another order (eight accumulators), so
                    // both paths are held to the reference, not to each other bit for bit.
                    for (path, result) in [("packing", actual), ("pre-packed", prepacked)] {
                        let worst = zip(expected, result).map { abs($0 - $1) }.max() ?? 0
                        #expect(
                            worst < 1e-4 * Float(k).squareRoot(),
                            "\(path) transA=\(transA) transB=\(transB) beta=\(beta): max error \(worst)")
                    }
                }
            }
        }
    }
}

@Suite("Activations: SIMD against libm")
struct ActivationTests {
    @Test func sigmoidAndTanhMatchScalarReference() {
        let inputs = stride(from: Float(-30), through: 30, by: 0.0137).map { $0 } + [-100, 100, 0, -0.0, 1e-6]
        var sigmoid = inputs
        var tanh = inputs
        sigmoid.withUnsafeMutableBufferPointer { Activations.sigmoid($0.baseAddress!, count: $0.count) }
        tanh.withUnsafeMutableBufferPointer { Activations.tanh($0.baseAddress!, count: $0.count) }
        for (index, x) in inputs.enumerated() {
            #expect(abs(sigmoid[index] - Activations.scalarSigmoid(x)) < 2e-7, "sigmoid(\(x))")
            #expect(abs(tanh[index] - Activations.scalarTanh(x)) < 4e-7, "tanh(\(x))")
        }
    }
}
