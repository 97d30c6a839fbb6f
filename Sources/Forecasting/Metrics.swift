/// Forecast accuracy, computed the prototype's way: accuracy = 100 − MAPE, and MAPE skips
/// zero actuals (and reports how many it skipped).
public struct ForecastMetrics: Codable, Sendable, Equatable {
    public var mae: Double
    public var rmse: Double
    public var mape: Double
    public var r2: Double
    public var accuracy: Double
    public var count: Int
    public var mapeSkippedZeros: Int

    public init(actual: [Float], predicted: [Float]) {
        precondition(actual.count == predicted.count && !actual.isEmpty)
        var absolute = 0.0
        var squared = 0.0
        var percent = 0.0
        var percentCount = 0
        var mean = 0.0
        for value in actual { mean += Double(value) }
        mean /= Double(actual.count)
        var total = 0.0
        for (a, p) in zip(actual, predicted) {
            let error = Double(a) - Double(p)
            absolute += abs(error)
            squared += error * error
            total += (Double(a) - mean) * (Double(a) - mean)
            if a != 0 {
                percent += abs(error / Double(a))
                percentCount += 1
            }
        }
        let n = Double(actual.count)
        mae = absolute / n
        rmse = (squared / n).squareRoot()
        r2 = total > 0 ? 1 - squared / total : 0
        mape = percentCount > 0 ? 100 * percent / Double(percentCount) : 0
        accuracy = 100 - mape
        count = actual.count
        mapeSkippedZeros = actual.count - percentCount
    }
}
