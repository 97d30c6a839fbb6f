import CPUFeatures
import Foundation
import Synchronization
import WideKernels

/// Single-precision matrix multiply on row-major buffers:
/// `C(m×n) = op(A)(m×k) · op(B)(k×n) + beta · C`, where `op(X)` is X or Xᵀ.
/// `lda`/`ldb`/`ldc` are row strides of the buffers as stored.
///
/// Two kernels with one contract: `naive` (the reference, three loops) and `blocked`
/// (packed panels + a 6×16 SIMD register micro-kernel, the shape BLIS uses on AVX2; on a CPU
/// with AVX-512, six rows times two adjacent panels in 16-wide registers, `WideKernels`).
/// Tests check one against the other.
public enum GEMM {
    /// Whether `blocked` uses the AVX-512 kernel: the machine has AVX-512F and
    /// `FORESCALE_GEMM=portable` is not set. Both kernels compute every element of C with
    /// the same fused multiply-adds in the same order, so results are identical bit for bit;
    /// tests and benchmarks switch it to compare them.
    public static let wideKernels = Atomic<Bool>(
        fs_cpu_has_avx512f() != 0 && ProcessInfo.processInfo.environment["FORESCALE_GEMM"] != "portable")

    public static func naive(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += x * y
                }
                c[i * ldc + j] = (beta == 0 ? 0 : beta * c[i * ldc + j]) + sum
            }
        }
    }

    static let mr = 6
    static let nr = 16
    static let kc = 256

    /// Reusable packing buffers; one per thread of computation (not thread-safe).
    public final class Workspace {
        fileprivate var packedA: UnsafeMutablePointer<Float>
        fileprivate var packedB: UnsafeMutablePointer<Float>
        private var capacityA = 0
        private var capacityB = 0

        public init() {
            packedA = .allocate(capacity: 1)
            packedB = .allocate(capacity: 1)
        }

        deinit {
            packedA.deallocate()
            packedB.deallocate()
        }

        fileprivate func reserve(a: Int, b: Int) {
            if a > capacityA {
                packedA.deallocate()
                packedA = .allocate(capacity: a)
                capacityA = a
            }
            if b > capacityB {
                packedB.deallocate()
                packedB = .allocate(capacity: b)
                capacityB = b
            }
        }
    }

    public static func blocked(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        workspace: Workspace
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            scale(c, rows: m, columns: n, ldc: ldc, by: beta)
            return
        }
        if m <= 2 && !transA && transB {
            // Matrix-vector shape (single-sequence inference): packing B would cost more
            // than the product; contiguous SIMD dot products need no packing.
            dotProducts(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let panelsA = (m + mr - 1) / mr
        let panelsB = (n + nr - 1) / nr
        let depth = min(k, kc)
        workspace.reserve(a: panelsA * mr * depth, b: panelsB * nr * depth)
        var k0 = 0
        while k0 < k {
            let kb = min(kc, k - k0)
            packB(transB: transB, b: b, ldb: ldb, k0: k0, kb: kb, n: n, into: workspace.packedB)
            multiplyBlock(
                transA: transA, m: m, n: n, k0: k0, kb: kb, a: a, lda: lda, packedB: workspace.packedB,
                beta: beta, c: c, ldc: ldc, workspace: workspace)
            k0 += kb
        }
    }

    /// op(B) packed once for many products with the same B (a weight matrix reused at every
    /// time step). Valid until the weights change.
    public struct PackedB: Sendable {
        public let k: Int
        public let n: Int
        fileprivate var storage: [Float]
    }

    public static func pack(transB: Bool, k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int) -> PackedB {
        let panels = (n + nr - 1) / nr
        var storage = [Float](repeating: 0, count: panels * nr * k)
        storage.withUnsafeMutableBufferPointer { buffer in
            var k0 = 0
            while k0 < k {
                let kb = min(kc, k - k0)
                packB(
                    transB: transB, b: b, ldb: ldb, k0: k0, kb: kb, n: n, into: buffer.baseAddress! + panels * nr * k0)
                k0 += kb
            }
        }
        return PackedB(k: k, n: n, storage: storage)
    }

    /// `C(m×n) = op(A)(m×k) · B + beta · C` with B packed by `pack`.
    public static func blocked(
        transA: Bool, m: Int, a: UnsafePointer<Float>, lda: Int, packedB: PackedB,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, workspace: Workspace
    ) {
        guard m > 0, packedB.n > 0, packedB.k > 0 else { return }
        let panels = (packedB.n + nr - 1) / nr
        if m == 1 && !transA {
            vectorTimesPacked(a: a, packedB: packedB, beta: beta, c: c)
            return
        }
        workspace.reserve(a: ((m + mr - 1) / mr) * mr * min(packedB.k, kc), b: 0)
        packedB.storage.withUnsafeBufferPointer { buffer in
            var k0 = 0
            while k0 < packedB.k {
                let kb = min(kc, packedB.k - k0)
                multiplyBlock(
                    transA: transA, m: m, n: packedB.n, k0: k0, kb: kb, a: a, lda: lda,
                    packedB: buffer.baseAddress! + panels * nr * k0, beta: beta, c: c, ldc: ldc, workspace: workspace)
                k0 += kb
            }
        }
    }

    /// c(1×n) = a(1×k) · B + beta·c over the packed panels, each read once, front to back —
    /// no packing, no horizontal sums. k is unrolled by 4 into eight independent 8-wide
    /// accumulators: with one pair, every FMA waited for the previous one (latency-bound,
    /// ~4× slower than the FMA units allow); the pairs are summed at the end.
    private static func vectorTimesPacked(
        a: UnsafePointer<Float>, packedB: PackedB, beta: Float, c: UnsafeMutablePointer<Float>
    ) {
        let panels = (packedB.n + nr - 1) / nr
        packedB.storage.withUnsafeBufferPointer { buffer in
            for panel in 0..<panels {
                var lo0 = SIMD8<Float>()
                var hi0 = SIMD8<Float>()
                var lo1 = SIMD8<Float>()
                var hi1 = SIMD8<Float>()
                var lo2 = SIMD8<Float>()
                var hi2 = SIMD8<Float>()
                var lo3 = SIMD8<Float>()
                var hi3 = SIMD8<Float>()
                var k0 = 0
                while k0 < packedB.k {
                    let kb = min(kc, packedB.k - k0)
                    var pb = UnsafeRawPointer(buffer.baseAddress! + panels * nr * k0 + panel * nr * kb)
                    var p = k0
                    let end = k0 + kb
                    while p + 4 <= end {
                        lo0.addProduct(SIMD8(repeating: a[p]), pb.loadUnaligned(as: SIMD8<Float>.self))
                        hi0.addProduct(
                            SIMD8(repeating: a[p]), pb.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                        lo1.addProduct(
                            SIMD8(repeating: a[p + 1]), pb.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                        hi1.addProduct(
                            SIMD8(repeating: a[p + 1]), pb.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                        lo2.addProduct(
                            SIMD8(repeating: a[p + 2]), pb.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self))
                        hi2.addProduct(
                            SIMD8(repeating: a[p + 2]), pb.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self))
                        lo3.addProduct(
                            SIMD8(repeating: a[p + 3]), pb.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self))
                        hi3.addProduct(
                            SIMD8(repeating: a[p + 3]), pb.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self))
                        pb += 256
                        p += 4
                    }
                    while p < end {
                        lo0.addProduct(SIMD8(repeating: a[p]), pb.loadUnaligned(as: SIMD8<Float>.self))
                        hi0.addProduct(
                            SIMD8(repeating: a[p]), pb.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                        pb += 64
                        p += 1
                    }
                    k0 += kb
                }
                store(
                    (lo0 + lo1) + (lo2 + lo3), (hi0 + hi1) + (hi2 + hi3), row: 0, c: c + panel * nr, ldc: 0, rows: 1,
                    columns: min(nr, packedB.n - panel * nr), beta: beta)
            }
        }
    }

    /// One k-block: packs op(A)[:, k0..<k0+kb] and runs the micro-kernel over every panel
    /// pair. beta applies on the first block only; later blocks accumulate.
    private static func multiplyBlock(
        transA: Bool, m: Int, n: Int, k0: Int, kb: Int, a: UnsafePointer<Float>, lda: Int,
        packedB: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, workspace: Workspace
    ) {
        let panelsA = (m + mr - 1) / mr
        let panelsB = (n + nr - 1) / nr
        let packedA = workspace.packedA
        packA(transA: transA, a: a, lda: lda, k0: k0, kb: kb, m: m, into: packedA)
        let blockBeta: Float = k0 > 0 ? 1 : beta
        let wide = wideKernels.load(ordering: .relaxed)
        for pa in 0..<panelsA {
            let rows = min(mr, m - pa * mr)
            let panelA = packedA + pa * mr * kb
            let rowC = c + pa * mr * ldc
            // A last panel of one to four rows (a batch of 32 leaves two) runs as pairs of
            // rows over pairs of B panels (eight accumulators each) instead of as six rows
            // with padding.
            var pb = 0
            while pb < panelsB {
                if wide && rows > 4 && pb + 1 < panelsB {
                    WideKernels.sixByThirtyTwo(
                        kb: kb, a: panelA, b0: packedB + pb * nr * kb, b1: packedB + (pb + 1) * nr * kb,
                        c: rowC + pb * nr, ldc: ldc, rows: rows, columns1: min(nr, n - (pb + 1) * nr), beta: blockBeta)
                    pb += 2
                    continue
                }
                if rows <= 4 && pb + 1 < panelsB {
                    for r0 in stride(from: 0, to: rows, by: 2) {
                        twoRowKernel(
                            kb: kb, a: panelA + r0, b: packedB + pb * nr * kb, c: rowC + r0 * ldc + pb * nr, ldc: ldc,
                            rows: min(2, rows - r0), columns: (nr, min(nr, n - (pb + 1) * nr)), beta: blockBeta)
                    }
                    pb += 2
                    continue
                }
                microKernel(
                    kb: kb, a: panelA, b: packedB + pb * nr * kb, c: rowC + pb * nr, ldc: ldc,
                    rows: rows, columns: min(nr, n - pb * nr), beta: blockBeta)
                pb += 1
            }
        }
    }

    /// Two rows of an A panel (`a` points at the first) times two adjacent B panels
    /// (32 columns): eight accumulators.
    @inline(__always)
    private static func twoRowKernel(
        kb: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: (Int, Int), beta: Float
    ) {
        typealias V = SIMD8<Float>
        var c00 = V()
        var c01 = V()
        var c02 = V()
        var c03 = V()
        var c10 = V()
        var c11 = V()
        var c12 = V()
        var c13 = V()
        var pa = UnsafeRawPointer(a)
        var pb0 = UnsafeRawPointer(b)
        var pb1 = UnsafeRawPointer(b + nr * kb)
        for _ in 0..<kb {
            let b0 = pb0.loadUnaligned(as: V.self)
            let b1 = pb0.loadUnaligned(fromByteOffset: 32, as: V.self)
            let b2 = pb1.loadUnaligned(as: V.self)
            let b3 = pb1.loadUnaligned(fromByteOffset: 32, as: V.self)
            let x0 = V(repeating: pa.load(as: Float.self))
            let x1 = V(repeating: pa.load(fromByteOffset: 4, as: Float.self))
            c00.addProduct(x0, b0)
            c01.addProduct(x0, b1)
            c02.addProduct(x0, b2)
            c03.addProduct(x0, b3)
            c10.addProduct(x1, b0)
            c11.addProduct(x1, b1)
            c12.addProduct(x1, b2)
            c13.addProduct(x1, b3)
            pa += 24
            pb0 += 64
            pb1 += 64
        }
        store(c00, c01, row: 0, c: c, ldc: ldc, rows: rows, columns: columns.0, beta: beta)
        store(c10, c11, row: 1, c: c, ldc: ldc, rows: rows, columns: columns.0, beta: beta)
        store(c02, c03, row: 0, c: c + nr, ldc: ldc, rows: rows, columns: columns.1, beta: beta)
        store(c12, c13, row: 1, c: c + nr, ldc: ldc, rows: rows, columns: columns.1, beta: beta)
    }

    /// C[i, j] = dot(A row i, B row j) + beta·C[i, j] (op(B) = Bᵀ, B stored n×k).
    private static func dotProducts(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        typealias V = SIMD8<Float>
        for i in 0..<m {
            let row = UnsafeRawPointer(a + i * lda)
            var j = 0
            // Four outputs at a time share each load of the A row.
            while j + 4 <= n {
                let b0 = UnsafeRawPointer(b + j * ldb)
                let b1 = UnsafeRawPointer(b + (j + 1) * ldb)
                let b2 = UnsafeRawPointer(b + (j + 2) * ldb)
                let b3 = UnsafeRawPointer(b + (j + 3) * ldb)
                var s0 = V()
                var s1 = V()
                var s2 = V()
                var s3 = V()
                var p = 0
                while p + 8 <= k {
                    let x = row.loadUnaligned(fromByteOffset: p * 4, as: V.self)
                    s0.addProduct(x, b0.loadUnaligned(fromByteOffset: p * 4, as: V.self))
                    s1.addProduct(x, b1.loadUnaligned(fromByteOffset: p * 4, as: V.self))
                    s2.addProduct(x, b2.loadUnaligned(fromByteOffset: p * 4, as: V.self))
                    s3.addProduct(x, b3.loadUnaligned(fromByteOffset: p * 4, as: V.self))
                    p += 8
                }
                var sums = SIMD4<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum())
                while p < k {
                    let x = a[i * lda + p]
                    sums += x * SIMD4(b[j * ldb + p], b[(j + 1) * ldb + p], b[(j + 2) * ldb + p], b[(j + 3) * ldb + p])
                    p += 1
                }
                for lane in 0..<4 {
                    let index = i * ldc + j + lane
                    c[index] = (beta == 0 ? 0 : beta * c[index]) + sums[lane]
                }
                j += 4
            }
            while j < n {
                var sum: Float = 0
                for p in 0..<k { sum += a[i * lda + p] * b[j * ldb + p] }
                c[i * ldc + j] = (beta == 0 ? 0 : beta * c[i * ldc + j]) + sum
                j += 1
            }
        }
    }

    private static func scale(_ c: UnsafeMutablePointer<Float>, rows: Int, columns: Int, ldc: Int, by beta: Float) {
        for i in 0..<rows {
            for j in 0..<columns { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
        }
    }

    /// Packs rows of op(A)[:, k0..<k0+kb] into panels of `mr` rows, k-major, zero-padded:
    /// panel p holds, for each k, the `mr` values of rows p*mr ..< p*mr+mr.
    private static func packA(
        transA: Bool, a: UnsafePointer<Float>, lda: Int, k0: Int, kb: Int, m: Int,
        into packed: UnsafeMutablePointer<Float>
    ) {
        let panels = (m + mr - 1) / mr
        for panel in 0..<panels {
            let base = packed + panel * mr * kb
            let i0 = panel * mr
            let rows = min(mr, m - i0)
            if rows == mr {
                // Full panels (nearly all of them): straight-line copies, no per-row loops.
                var out = base
                if transA {
                    var source = a + k0 * lda + i0
                    for _ in 0..<kb {
                        out.update(from: source, count: mr)
                        source += lda
                        out += mr
                    }
                } else {
                    // Six row pointers: mr is 6 (the micro-kernel's row count).
                    let r0 = a + i0 * lda + k0
                    let r1 = r0 + lda
                    let r2 = r1 + lda
                    let r3 = r2 + lda
                    let r4 = r3 + lda
                    let r5 = r4 + lda
                    for p in 0..<kb {
                        out[0] = r0[p]
                        out[1] = r1[p]
                        out[2] = r2[p]
                        out[3] = r3[p]
                        out[4] = r4[p]
                        out[5] = r5[p]
                        out += mr
                    }
                }
                continue
            }
            for p in 0..<kb {
                let out = base + p * mr
                if transA {
                    let source = a + (k0 + p) * lda + i0
                    for r in 0..<rows { out[r] = source[r] }
                } else {
                    for r in 0..<rows { out[r] = a[(i0 + r) * lda + k0 + p] }
                }
                for r in rows..<mr { out[r] = 0 }
            }
        }
    }

    /// Packs op(B)[k0..<k0+kb, :] into panels of `nr` columns, k-major, zero-padded.
    private static func packB(
        transB: Bool, b: UnsafePointer<Float>, ldb: Int, k0: Int, kb: Int, n: Int,
        into packed: UnsafeMutablePointer<Float>
    ) {
        let panels = (n + nr - 1) / nr
        for panel in 0..<panels {
            let base = packed + panel * nr * kb
            let j0 = panel * nr
            let columns = min(nr, n - j0)
            if transB {
                // Read each source row front to back; the writes stay inside one panel (L1).
                for j in 0..<columns {
                    let source = b + (j0 + j) * ldb + k0
                    for p in 0..<kb { base[p * nr + j] = source[p] }
                }
                if columns < nr {
                    for p in 0..<kb {
                        for j in columns..<nr { base[p * nr + j] = 0 }
                    }
                }
                continue
            }
            for p in 0..<kb {
                let out = base + p * nr
                let source = b + (k0 + p) * ldb + j0
                if columns == nr {
                    UnsafeMutableRawPointer(out).storeBytes(
                        of: UnsafeRawPointer(source).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                } else {
                    for j in 0..<columns { out[j] = source[j] }
                    for j in columns..<nr { out[j] = 0 }
                }
            }
        }
    }

    /// C[0..<rows, 0..<columns] = A-panel · B-panel + beta · C, with twelve 8-wide
    /// accumulators held in registers across the whole k loop.
    @inline(__always)
    private static func microKernel(
        kb: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, beta: Float
    ) {
        typealias V = SIMD8<Float>
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
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kb {
            let b0 = pb.loadUnaligned(as: V.self)
            let b1 = pb.loadUnaligned(fromByteOffset: 32, as: V.self)
            var x = V(repeating: pa.load(as: Float.self))
            c00.addProduct(x, b0)
            c01.addProduct(x, b1)
            x = V(repeating: pa.load(fromByteOffset: 4, as: Float.self))
            c10.addProduct(x, b0)
            c11.addProduct(x, b1)
            x = V(repeating: pa.load(fromByteOffset: 8, as: Float.self))
            c20.addProduct(x, b0)
            c21.addProduct(x, b1)
            x = V(repeating: pa.load(fromByteOffset: 12, as: Float.self))
            c30.addProduct(x, b0)
            c31.addProduct(x, b1)
            x = V(repeating: pa.load(fromByteOffset: 16, as: Float.self))
            c40.addProduct(x, b0)
            c41.addProduct(x, b1)
            x = V(repeating: pa.load(fromByteOffset: 20, as: Float.self))
            c50.addProduct(x, b0)
            c51.addProduct(x, b1)
            pa += 24
            pb += 64
        }
        store(c00, c01, row: 0, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c10, c11, row: 1, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c20, c21, row: 2, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c30, c31, row: 3, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c40, c41, row: 4, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
        store(c50, c51, row: 5, c: c, ldc: ldc, rows: rows, columns: columns, beta: beta)
    }

    @inline(__always)
    private static func store(
        _ lo: SIMD8<Float>, _ hi: SIMD8<Float>, row r: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, beta: Float
    ) {
        guard r < rows else { return }
        if columns == nr {
            let row = UnsafeMutableRawPointer(c + r * ldc)
            var lo = lo
            var hi = hi
            if beta != 0 {
                lo.addProduct(SIMD8(repeating: beta), row.loadUnaligned(as: SIMD8<Float>.self))
                hi.addProduct(SIMD8(repeating: beta), row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            }
            row.storeBytes(of: lo, as: SIMD8<Float>.self)
            row.storeBytes(of: hi, toByteOffset: 32, as: SIMD8<Float>.self)
        } else {
            // Fused as the whole-row store is, so every path gives the same bits (WideKernels too).
            for j in 0..<columns {
                let value = j < 8 ? lo[j] : hi[j - 8]
                c[r * ldc + j] = beta != 0 ? value.addingProduct(beta, c[r * ldc + j]) : value
            }
        }
    }
}
