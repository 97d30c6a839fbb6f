import Foundation

/// Vectorised logistic sigmoid and tanh over Float buffers, in place.
///
/// Both come from one SIMD `exp` (Cephes `expf`: range reduction by ln 2, degree-6
/// polynomial, exponent bits set directly), ~2 ulp; per-element Glibc `tanhf` costs more
/// than the LSTM's matrix multiplies. The scalar versions are the reference in tests.
public enum Activations {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func exp(_ input: V) -> V {
        var x = input
        x.replace(with: V(repeating: -87.3), where: x .< -87.3)
        x.replace(with: V(repeating: 88.3), where: x .> 88.3)
        let n = (x * 1.442_695_04).rounded(.toNearestOrEven)
        var r = x - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let result = p * r * r + r + 1
        // 2ⁿ from the bits: adding 1.5·2²³ puts the integer n in the low mantissa bits
        // (a generic SIMD Float→Int32 conversion is not vectorised and cost more than the rest).
        let shifted = unsafeBitCast(n + 12_582_912, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let exponent = (shifted &+ 127) &<< 23
        return result * unsafeBitCast(exponent, to: V.self)
    }

    @inline(__always)
    static func sigmoid(_ x: V) -> V {
        1 / (1 + exp(-x))
    }

    @inline(__always)
    static func tanh(_ x: V) -> V {
        2 / (1 + exp(-2 * x)) - 1
    }

    public static func sigmoid(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        apply(buffer, count: count, sigmoid, scalarSigmoid)
    }

    public static func tanh(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        apply(buffer, count: count, tanh, scalarTanh)
    }

    @inline(__always)
    private static func apply(
        _ buffer: UnsafeMutablePointer<Float>, count: Int, _ vector: (V) -> V, _ scalar: (Float) -> Float
    ) {
        let raw = UnsafeMutableRawPointer(buffer)
        var index = 0
        while index + 8 <= count {
            raw.storeBytes(
                of: vector(raw.loadUnaligned(fromByteOffset: index * 4, as: V.self)), toByteOffset: index * 4,
                as: V.self)
            index += 8
        }
        while index < count {
            buffer[index] = scalar(buffer[index])
            index += 1
        }
    }

    public static func scalarSigmoid(_ x: Float) -> Float {
        1 / (1 + Float(Foundation.exp(Double(-x))))
    }

    public static func scalarTanh(_ x: Float) -> Float {
        Float(Foundation.tanh(Double(x)))
    }
}
