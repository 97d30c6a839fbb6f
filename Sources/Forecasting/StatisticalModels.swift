import Foundation

/// The classical forecasters the trainer fits beside the LSTM and may serve instead of it
/// when they forecast better on the policy's own rolling-origin holdout: naive, seasonal
/// naive, moving averages, additive Holt-Winters, exponential smoothing with automatic model
/// choice (simple, Holt, damped Holt, by AIC) and ARIMA(p, 1, 0) with automatic order
/// (p ≤ 6, by AIC). Each gives a point forecast per horizon step; its quantiles are that
/// point plus the empirical quantiles of its own residuals at each step (split conformal),
/// so its bands are calibrated by construction.
public struct StatisticalModel: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case naive
        case seasonalNaive = "seasonal_naive"
        case movingAverage6 = "moving_average_6"
        case movingAverage24 = "moving_average_24"
        case holtWinters = "holt_winters"
        case ets
        case arima
    }

    public var kind: Kind
    /// Steps per season (a day).
    public var season: Int
    /// Holt-Winters: α, β, γ. ETS: α, β (0: no trend), φ (1: undamped). ARIMA: the AR
    /// coefficients of the differenced series, then its mean.
    public var parameters: [Double]
    public var quantiles: [Float]
    /// Offsets added to the point forecast: per horizon step (rows), per quantile (columns).
    public var residualQuantiles: [[Float]]

    /// Rows of history a forecast reads (two seasons for the seasonal ones).
    public var historyLength: Int {
        switch kind {
        case .naive: return 1
        case .movingAverage6: return 6
        case .movingAverage24: return 24
        case .seasonalNaive: return season
        case .holtWinters: return 3 * season
        case .ets: return 96
        case .arima: return 96
        }
    }

    public var horizon: Int { residualQuantiles.count }

    /// Rows a forecast reads at most: four seasons (and at least 384), what Holt-Winters
    /// needs to start and settle.
    public var readRows: Int { 4 * max(season, 96) }

    /// Point forecasts from `origin` of `series`, reading only the rows before it.
    public func points(at origin: Int, in series: [Double], horizon: Int) -> [Double] {
        points(after: Array(series[max(0, origin - readRows)..<origin]), horizon: horizon)
    }

    public init(kind: Kind, season: Int, parameters: [Double], quantiles: [Float], residualQuantiles: [[Float]]) {
        self.kind = kind
        self.season = season
        self.parameters = parameters
        self.quantiles = quantiles
        self.residualQuantiles = residualQuantiles
    }

    /// Point forecasts of the `horizon` steps after `series` (oldest first).
    public func points(after series: [Double], horizon: Int) -> [Double] {
        guard let last = series.last else { return [Double](repeating: 0, count: horizon) }
        switch kind {
        case .naive:
            return [Double](repeating: last, count: horizon)
        case .seasonalNaive:
            return (1...horizon).map { step in
                let periods = (step + season - 1) / season
                let index = series.count - 1 + step - periods * season
                return series[max(0, min(index, series.count - 1))]
            }
        case .movingAverage6, .movingAverage24:
            let window = kind == .movingAverage6 ? 6 : 24
            let tail = series.suffix(window)
            return [Double](repeating: tail.reduce(0, +) / Double(tail.count), count: horizon)
        case .holtWinters:
            guard parameters.count == 3 else { return [Double](repeating: last, count: horizon) }
            let model = HoltWinters(
                alpha: Float(parameters[0]), beta: Float(parameters[1]), gamma: Float(parameters[2]),
                season: max(1, min(season, series.count / 2)))
            let floats = series.map(Float.init)
            return (1...horizon).map { Double(model.forecasts(series: floats, windows: [floats.count], step: $0)[0]) }
        case .ets:
            guard parameters.count == 3 else { return [Double](repeating: last, count: horizon) }
            return ExponentialSmoothing(alpha: parameters[0], beta: parameters[1], phi: parameters[2])
                .forecast(series, horizon: horizon)
        case .arima:
            guard !parameters.isEmpty else { return [Double](repeating: last, count: horizon) }
            return AutoRegression(coefficients: Array(parameters.dropLast()), mean: parameters.last!)
                .forecastIntegrated(series, horizon: horizon)
        }
    }

    /// Per step: the value at each quantile.
    public func forecast(after series: [Double]) -> [[Float]] {
        let points = points(after: series, horizon: horizon)
        return points.enumerated().map { step, point in
            residualQuantiles[step].map { Float(max(0, point + Double($0))) }
        }
    }

    /// Fits `kind` on `series` (the training part).
    public static func fit(_ kind: Kind, series: [Double], season: Int, quantiles: [Float], horizon: Int)
        -> StatisticalModel
    {
        var parameters: [Double] = []
        switch kind {
        case .holtWinters:
            let model = HoltWinters.fit(series: series.map(Float.init), season: season)
            parameters = [Double(model.alpha), Double(model.beta), Double(model.gamma)]
        case .ets:
            let model = ExponentialSmoothing.fit(series)
            parameters = [model.alpha, model.beta, model.phi]
        case .arima:
            let model = AutoRegression.fitDifferenced(series)
            parameters = model.coefficients + [model.mean]
        default:
            break
        }
        return StatisticalModel(
            kind: kind, season: season, parameters: parameters, quantiles: quantiles,
            residualQuantiles: [[Float]](
                repeating: [Float](repeating: 0, count: quantiles.count), count: max(1, horizon)))
    }

    /// Sets the residual quantiles from forecasts made at `origins` of `series` (each origin
    /// sees `series[..<origin]` only), at each step and quantile: the ⌈(n + 1)·q⌉-th smallest
    /// residual. Returns the residuals (per step) for scoring.
    @discardableResult
    public mutating func calibrate(series: [Double], origins: [Int]) -> [[Double]] {
        let steps = horizon
        var residuals = [[Double]](repeating: [], count: steps)
        for origin in origins where origin >= historyLength && origin + steps <= series.count {
            let forecast = points(at: origin, in: series, horizon: steps)
            for step in 0..<steps { residuals[step].append(series[origin + step] - forecast[step]) }
        }
        residualQuantiles = residuals.map { values in
            let sorted = values.sorted()
            return quantiles.map { Float(Conformal.offset(sorted: sorted, level: Double($0)) ?? 0) }
        }
        return residuals
    }
}

/// Exponential smoothing with additive (optionally damped) trend; `beta` 0 is simple
/// exponential smoothing. Fitted by grid search on one-step squared error and chosen among
/// the three forms by AIC.
public struct ExponentialSmoothing: Sendable, Equatable {
    public var alpha: Double
    public var beta: Double
    public var phi: Double

    func filter(_ series: [Double]) -> (level: Double, trend: Double, sse: Double) {
        guard let first = series.first else { return (0, 0, 0) }
        var level = first
        var trend = series.count > 1 && beta > 0 ? series[1] - series[0] : 0
        var sse = 0.0
        for value in series.dropFirst() {
            let forecast = level + phi * trend
            let error = value - forecast
            sse += error * error
            let previous = level
            level = alpha * value + (1 - alpha) * (level + phi * trend)
            if beta > 0 { trend = beta * (level - previous) + (1 - beta) * phi * trend }
        }
        return (level, trend, sse)
    }

    public func forecast(_ series: [Double], horizon: Int) -> [Double] {
        let (level, trend, _) = filter(series)
        var damped = 0.0
        var power = 1.0
        return (1...max(1, horizon)).map { _ in
            power *= phi
            damped += power
            return level + (beta > 0 ? damped * trend : 0)
        }
    }

    public static func fit(_ series: [Double]) -> ExponentialSmoothing {
        let n = Double(max(2, series.count))
        var best = ExponentialSmoothing(alpha: 0.5, beta: 0, phi: 1)
        var bestAIC = Double.infinity
        for (betas, phi, k) in [
            ([0.0], 1.0, 2.0), ([0.01, 0.05, 0.1, 0.2], 1.0, 4.0), ([0.01, 0.05, 0.1, 0.2], 0.98, 5.0),
        ] {
            for alpha in [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9] {
                for beta in betas {
                    let candidate = ExponentialSmoothing(alpha: alpha, beta: beta, phi: phi)
                    let sse = candidate.filter(series).sse
                    let aic = n * log(max(sse, 1e-12) / n) + 2 * k
                    if aic < bestAIC {
                        bestAIC = aic
                        best = candidate
                    }
                }
            }
        }
        return best
    }
}

/// An AR(p) model of the first differences (ARIMA(p, 1, 0)), fitted by least squares, the
/// order chosen by AIC among 0…6.
public struct AutoRegression: Sendable, Equatable {
    public var coefficients: [Double]
    public var mean: Double

    public static func fitDifferenced(_ series: [Double]) -> AutoRegression {
        let differences = zip(series.dropFirst(), series).map { $0 - $1 }
        guard differences.count > 20 else { return AutoRegression(coefficients: [], mean: 0) }
        let mean = differences.reduce(0, +) / Double(differences.count)
        let centred = differences.map { $0 - mean }
        var best = AutoRegression(coefficients: [], mean: mean)
        var bestAIC = Double.infinity
        for order in 0...min(6, centred.count / 10) {
            guard let coefficients = leastSquares(centred, order: order) else { continue }
            var sse = 0.0
            for t in order..<centred.count {
                var prediction = 0.0
                for (index, coefficient) in coefficients.enumerated() {
                    prediction += coefficient * centred[t - 1 - index]
                }
                let error = centred[t] - prediction
                sse += error * error
            }
            let n = Double(centred.count - order)
            let aic = n * log(max(sse, 1e-12) / n) + 2 * Double(order + 1)
            if aic < bestAIC {
                bestAIC = aic
                best = AutoRegression(coefficients: coefficients, mean: mean)
            }
        }
        return best
    }

    /// Solves the normal equations of y[t] = Σ a_i y[t − i] (Gaussian elimination with
    /// partial pivoting); nil when they are singular.
    static func leastSquares(_ y: [Double], order: Int) -> [Double]? {
        guard order > 0 else { return [] }
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: order + 1), count: order)
        for t in order..<y.count {
            for i in 0..<order {
                for j in 0..<order { matrix[i][j] += y[t - 1 - i] * y[t - 1 - j] }
                matrix[i][order] += y[t - 1 - i] * y[t]
            }
        }
        for column in 0..<order {
            guard let pivot = (column..<order).max(by: { abs(matrix[$0][column]) < abs(matrix[$1][column]) }),
                abs(matrix[pivot][column]) > 1e-12
            else { return nil }
            matrix.swapAt(column, pivot)
            for row in 0..<order where row != column {
                let factor = matrix[row][column] / matrix[column][column]
                for k in column...order { matrix[row][k] -= factor * matrix[column][k] }
            }
        }
        return (0..<order).map { matrix[$0][order] / matrix[$0][$0] }
    }

    /// Forecasts the differences recursively and adds them up from the last value.
    public func forecastIntegrated(_ series: [Double], horizon: Int) -> [Double] {
        guard let last = series.last else { return [Double](repeating: 0, count: horizon) }
        var centred = zip(series.dropFirst(), series).map { $0 - $1 - mean }
        var level = last
        return (0..<max(1, horizon)).map { _ in
            var next = 0.0
            for (index, coefficient) in coefficients.enumerated() where centred.count > index {
                next += coefficient * centred[centred.count - 1 - index]
            }
            centred.append(next)
            level += next + mean
            return level
        }
    }
}
