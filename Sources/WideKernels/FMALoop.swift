/// The 16-wide counterpart of `FMACeiling.run` (which is 8-wide and compiled for Haswell):
/// independent chains of fused multiply-adds on AVX-512 registers, nothing loaded or stored.
public enum WideFMALoop {
    /// FLOPs done in `rounds` × 100,000 iterations of ten 16-wide FMAs.
    @inline(never)
    public static func run(rounds: Int) -> Double {
        let x = SIMD16<Float>(repeating: 1.000_000_1)
        let y = SIMD16<Float>(repeating: 0.999_999_9)
        var (a0, a1, a2, a3, a4) = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        var (a5, a6, a7, a8, a9) = (a0, a1, a2, a3, a4)
        for _ in 0..<(rounds * 100_000) {
            a0 = a0.addingProduct(x, y)
            a1 = a1.addingProduct(x, y)
            a2 = a2.addingProduct(x, y)
            a3 = a3.addingProduct(x, y)
            a4 = a4.addingProduct(x, y)
            a5 = a5.addingProduct(x, y)
            a6 = a6.addingProduct(x, y)
            a7 = a7.addingProduct(x, y)
            a8 = a8.addingProduct(x, y)
            a9 = a9.addingProduct(x, y)
        }
        // Keep the result alive so the loop is not removed.
        let sum = (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9).sum()
        if sum == .infinity { print("") }
        return Double(rounds) * 100_000 * 10 * 32
    }
}
