import Foundation

/// Adam with PyTorch `torch.optim.Adam` semantics (L2 weight decay added to the gradient,
/// bias-corrected moments, ε outside the square root).
public struct Adam: Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0
    public private(set) var step = 0
    private var firstMoment: [Float]
    private var secondMoment: [Float]

    public init(parameterCount: Int, learningRate: Float, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    public mutating func update(_ parameters: inout [Float], gradients: [Float]) {
        step += 1
        let correction1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let correction2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        let stepSize = learningRate / correction1
        let root2 = correction2.squareRoot()
        let (b1, b2, eps, decay) = (beta1, beta2, epsilon, weightDecay)
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                parameters.withUnsafeMutableBufferPointer { p in
                    gradients.withUnsafeBufferPointer { g in
                        for index in 0..<p.count {
                            let grad = g[index] + decay * p[index]
                            m[index] = b1 * m[index] + (1 - b1) * grad
                            v[index] = b2 * v[index] + (1 - b2) * grad * grad
                            p[index] -= stepSize * m[index] / (v[index].squareRoot() / root2 + eps)
                        }
                    }
                }
            }
        }
    }
}

/// Scales `gradients` so their global L2 norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: inout [Float], maxNorm: Float) -> Float {
    var sum: Double = 0
    for value in gradients { sum += Double(value * value) }
    let norm = Float(sum.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for index in gradients.indices { gradients[index] *= coefficient }
    }
    return norm
}
