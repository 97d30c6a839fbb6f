/// Training losses over predictions (B, H·Q) laid out horizon-major: for each horizon step,
/// one value per quantile. Each returns the mean loss and writes dLoss/dPrediction.
public enum Loss: Sendable, Equatable {
    /// Mean squared error (quantiles ignored: one output per horizon step).
    case meanSquaredError
    /// Pinball (quantile) loss, averaged over outputs: for quantile q and error e = y − ŷ,
    /// max(q·e, (q − 1)·e).
    case pinball(quantiles: [Float])

    public func evaluate(
        predictions: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int,
        gradient: UnsafeMutablePointer<Float>
    ) -> Float {
        var total: Double = 0
        let scale = 1 / Float(count)
        switch self {
        case .meanSquaredError:
            for index in 0..<count {
                let error = predictions[index] - targets[index]
                total += Double(error * error)
                gradient[index] = 2 * error * scale
            }
        case .pinball(let quantiles):
            let q = quantiles.count
            for index in 0..<count {
                let quantile = quantiles[index % q]
                let error = targets[index] - predictions[index]
                if error >= 0 {
                    total += Double(quantile * error)
                    gradient[index] = -quantile * scale
                } else {
                    total += Double((quantile - 1) * error)
                    gradient[index] = (1 - quantile) * scale
                }
            }
        }
        return Float(total / Double(count))
    }
}
