/// GEMM micro-kernels for CPUs with AVX-512. This module alone is compiled for Skylake-AVX512
/// (x86-64-v4 class) in release builds; nothing here may run before `GEMM.wideKernels` has
/// said the machine can.
///
/// The kernel is `GEMM.microKernel` at twice the width: the same packed panels, the same
/// fused multiply-adds per element in the same order, so the two give identical bits. It is
/// written out rather than shared as a generic: the generic form, specialised for 8-wide
/// vectors under Haswell, compiled to shuffles and half-width FMAs (twice the code).
public enum WideKernels {
    /// C[rows × (16 + columns1)] = A panel (6 rows, packed k-major) × two adjacent 16-column
    /// B panels (packed k-major) + beta · C: twelve 16-wide accumulators.
    @inline(never)
    public static func sixByThirtyTwo(
        kb: Int, a: UnsafePointer<Float>, b0: UnsafePointer<Float>, b1: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns1: Int, beta: Float
    ) {
        typealias V = SIMD16<Float>
        var c00 = V()
        var c01 = V()
        var c10 = V()
        var c11 = V()
        var c20 = V()
        var c21 = V()
        var c30 = V()
        var c31 = V()
        var c40 = V()
        var c41 = V()
        var c50 = V()
        var c51 = V()
        var pa = UnsafeRawPointer(a)
        var p0 = UnsafeRawPointer(b0)
        var p1 = UnsafeRawPointer(b1)
        for _ in 0..<kb {
            let x0 = p0.loadUnaligned(as: V.self)
            let x1 = p1.loadUnaligned(as: V.self)
            var s = V(repeating: pa.load(as: Float.self))
            c00.addProduct(s, x0)
            c01.addProduct(s, x1)
            s = V(repeating: pa.load(fromByteOffset: 4, as: Float.self))
            c10.addProduct(s, x0)
            c11.addProduct(s, x1)
            s = V(repeating: pa.load(fromByteOffset: 8, as: Float.self))
            c20.addProduct(s, x0)
            c21.addProduct(s, x1)
            s = V(repeating: pa.load(fromByteOffset: 12, as: Float.self))
            c30.addProduct(s, x0)
            c31.addProduct(s, x1)
            s = V(repeating: pa.load(fromByteOffset: 16, as: Float.self))
            c40.addProduct(s, x0)
            c41.addProduct(s, x1)
            s = V(repeating: pa.load(fromByteOffset: 20, as: Float.self))
            c50.addProduct(s, x0)
            c51.addProduct(s, x1)
            pa += 24
            p0 += 64
            p1 += 64
        }
        let columns = (16, columns1)
        store(c00, c01, row: 0, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c10, c11, row: 1, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c20, c21, row: 2, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c30, c31, row: 3, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c40, c41, row: 4, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c50, c51, row: 5, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
    }

    /// Row `r` of the block: `left` to the first panel's columns, `right` to the second's.
    @inline(__always)
    private static func store(
        _ left: SIMD16<Float>, _ right: SIMD16<Float>, row r: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, columns: (Int, Int), beta: Float
    ) {
        guard r < rows else { return }
        store(left, at: c + r * ldc, columns: columns.0, beta: beta)
        store(right, at: c + r * ldc + 16, columns: columns.1, beta: beta)
    }

    /// `target[0..<columns] = value + beta · target`, fused in every lane (one rounding), as
    /// `GEMM`'s stores are.
    @inline(__always)
    private static func store(
        _ value: SIMD16<Float>, at target: UnsafeMutablePointer<Float>, columns: Int, beta: Float
    ) {
        if columns == 16 {
            let raw = UnsafeMutableRawPointer(target)
            var value = value
            if beta != 0 { value.addProduct(SIMD16(repeating: beta), raw.loadUnaligned(as: SIMD16<Float>.self)) }
            raw.storeBytes(of: value, as: SIMD16<Float>.self)
        } else {
            for j in 0..<columns {
                target[j] = beta != 0 ? value[j].addingProduct(beta, target[j]) : value[j]
            }
        }
    }
}
