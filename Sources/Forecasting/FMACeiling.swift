import Foundation
import Synchronization
import WideKernels

/// The machine's single-precision ceiling as this build can reach it: independent chains of
/// fused multiply-adds, nothing loaded or stored — what no real kernel exceeds. On 8-wide
/// vectors (AVX2 + FMA in release builds of this module), or 16-wide (`WideFMALoop`) when
/// `GEMM.wideKernels` is on. `bench train` reports training speed against it.
public enum FMACeiling {
    /// GFLOP/s on `threads` threads (2 FLOP per lane per fused multiply-add), at the vector
    /// width the GEMM kernels use now.
    public static func measure(threads: Int, seconds: Double = 1) -> Double {
        measure(threads: threads, seconds: seconds, wide: GEMM.wideKernels.load(ordering: .relaxed))
    }

    static func measure(threads: Int, seconds: Double, wide: Bool) -> Double {
        let threads = max(1, threads)
        let group = DispatchGroup()
        let flops = Mutex(0.0)
        let started = ContinuousClock.now
        for _ in 0..<threads {
            group.enter()
            Thread {
                let done = wide ? runWide(seconds: seconds) : run(seconds: seconds)
                flops.withLock { $0 += done }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = (ContinuousClock.now - started).components
        let wall = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        return flops.withLock { $0 } / wall / 1e9
    }

    /// FLOPs done in about `seconds` on this thread, 16-wide.
    static func runWide(seconds: Double) -> Double {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var flops = 0.0
        while ContinuousClock.now < deadline { flops += WideFMALoop.run(rounds: 1) }
        return flops
    }

    /// FLOPs done in about `seconds` on this thread, 8-wide.
    @inline(never)
    static func run(seconds: Double) -> Double {
        let x = SIMD8<Float>(repeating: 1.000_000_1)
        let y = SIMD8<Float>(repeating: 0.999_999_9)
        // Ten independent accumulators hide the FMA latency (4 cycles, 2 ports).
        var a0 = SIMD8<Float>(repeating: 0)
        var a1 = a0
        var a2 = a0
        var a3 = a0
        var a4 = a0
        var a5 = a0
        var a6 = a0
        var a7 = a0
        var a8 = a0
        var a9 = a0
        let deadline = ContinuousClock.now + .seconds(seconds)
        var rounds = 0.0
        while ContinuousClock.now < deadline {
            for _ in 0..<100_000 {
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
            rounds += 1
        }
        // Keep the result alive so the loop is not removed.
        let sum = (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9).sum()
        if sum == .infinity { print("") }
        return rounds * 100_000 * 10 * 16
    }

    /// FLOPs of one training epoch of an LSTM network (forward and backward, the gate matrix
    /// products that dominate it): per window and step, each layer's gates are a
    /// 4H × (input + H) matrix–vector product (2 FLOP per multiply-add) forward, and about
    /// twice that backward (input and weight gradients); plus the dense head.
    public static func epochFLOPs(configuration: NetworkConfiguration, sequenceLength: Int, windows: Int) -> Double {
        var perStep = 0.0
        var input = Double(configuration.inputSize)
        let hidden = Double(configuration.hiddenSize)
        for _ in 0..<configuration.layers {
            perStep += 2 * 4 * hidden * (input + hidden)
            input = hidden
        }
        let head =
            2 * (hidden * Double(configuration.headSize) + Double(configuration.headSize * configuration.outputCount))
        return 3 * (Double(sequenceLength) * perStep + head) * Double(windows)
    }
}
