import Foundation

/// The classical forecasters the trainer fits beside the LSTM and may serve instead of it
/// when they forecast better on the policy's own rolling-origin holdout: naive, seasonal
/// naive, moving averages, the Theta method (seasonally adjusted when the series' daily
/// autocorrelation is significant), additive Holt-Winters (seasonal ETS), exponential
/// smoothing with automatic model choice (simple, Holt, damped Holt, by AIC), ARIMA(p, 1, 0)
/// with automatic order (p ≤ 6, by AIC), and combinations of the best of them (their median,
/// or their mean weighted by inverse error). Each gives a point forecast per horizon step; its
/// quantiles are that point plus the empirical quantiles of its own residuals at each step
/// (split conformal), so its bands are calibrated by construction and bounded by what was seen.
public struct StatisticalModel: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case naive
        case seasonalNaive = "seasonal_naive"
        case movingAverage6 = "moving_average_6"
        case movingAverage24 = "moving_average_24"
        case theta
        case holtWinters = "holt_winters"
        case ets
        case arima
        /// Of `components`: the median (no weights) or the weighted mean.
        case combination

        /// What is fitted on its own, simplest first (the order the selection's guard prefers).
        public static let candidates: [Kind] = [
            .naive, .seasonalNaive, .movingAverage6, .movingAverage24, .theta, .ets, .holtWinters, .arima,
        ]

        /// Needs three seasons of history to fit.
        public var isSeasonal: Bool { self == .seasonalNaive || self == .holtWinters }
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
    /// A combination's members (each a fitted candidate, none a combination), and their
    /// weights (summing to 1) when it is a weighted mean rather than the median.
    public var components: [StatisticalModel]?
    public var weights: [Double]?

    /// Rows of history a forecast reads (two seasons for the seasonal ones).
    public var historyLength: Int {
        switch kind {
        case .naive: return 1
        case .movingAverage6: return 6
        case .movingAverage24: return 24
        case .seasonalNaive: return season
        case .holtWinters: return 3 * season
        case .theta: return 96
        case .ets: return 96
        case .arima: return 96
        case .combination: return components?.map(\.historyLength).max() ?? 1
        }
    }

    public var horizon: Int { residualQuantiles.count }

    /// Rows a forecast reads at most: four seasons (and at least 384), what Holt-Winters
    /// needs to start and settle.
    public var readRows: Int { max(4 * max(season, 96), components?.map(\.readRows).max() ?? 0) }

    /// Point forecasts from `origin` of `series`, reading only the rows before it.
    public func points(at origin: Int, in series: [Double], horizon: Int) -> [Double] {
        points(after: Array(series[max(0, origin - readRows)..<origin]), horizon: horizon)
    }

    public init(
        kind: Kind, season: Int, parameters: [Double], quantiles: [Float], residualQuantiles: [[Float]],
        components: [StatisticalModel]? = nil, weights: [Double]? = nil
    ) {
        self.kind = kind
        self.season = season
        self.parameters = parameters
        self.quantiles = quantiles
        self.residualQuantiles = residualQuantiles
        self.components = components
        self.weights = weights
    }

    /// The median (no `weights`) or weighted mean of `components`, uncalibrated.
    public static func combining(_ components: [StatisticalModel], weights: [Double]?) -> StatisticalModel {
        let first = components[0]
        return StatisticalModel(
            kind: .combination, season: first.season, parameters: [], quantiles: first.quantiles,
            residualQuantiles: [[Float]](
                repeating: [Float](repeating: 0, count: first.quantiles.count), count: first.horizon),
            components: components.map {
                var plain = $0
                plain.residualQuantiles = []
                return plain
            },
            weights: weights)
    }

    /// Per step, the median (or the `weights`' mean) of the members' point forecasts.
    public static func combine(_ forecasts: [[Double]], weights: [Double]?) -> [Double] {
        guard let steps = forecasts.first?.count else { return [] }
        return (0..<steps).map { step in
            let values = forecasts.map { $0[step] }
            if let weights { return zip(values, weights).reduce(0) { $0 + $1.0 * $1.1 } }
            let sorted = values.sorted()
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
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
        case .theta:
            guard parameters.count == 2 else { return [Double](repeating: last, count: horizon) }
            return Theta(alpha: parameters[0], season: parameters[1] > 0 ? season : 1)
                .forecast(series, horizon: horizon)
        case .combination:
            guard let components, !components.isEmpty else { return [Double](repeating: last, count: horizon) }
            return Self.combine(components.map { $0.points(after: series, horizon: horizon) }, weights: weights)
        }
    }

    /// Per step: the value at each quantile (never below a lower quantile's, nor below 0).
    public func forecast(after series: [Double]) -> [[Float]] {
        let points = points(after: series, horizon: horizon)
        let order = quantiles.indices.sorted { quantiles[$0] < quantiles[$1] }
        return points.enumerated().map { step, point in
            var values = residualQuantiles[step].map { Float(max(0, point + Double($0))) }
            for (lower, upper) in zip(order, order.dropFirst()) { values[upper] = max(values[upper], values[lower]) }
            return values
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
        case .theta:
            let seasonal = Theta.isSeasonal(series, season: season)
            let model = Theta.fit(series, season: seasonal ? season : 1)
            parameters = [model.alpha, seasonal ? 1 : 0]
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
    /// residual (0 for the median). Returns the residuals (per step) for scoring.
    @discardableResult
    public mutating func calibrate(series: [Double], origins: [Int]) -> [[Double]] {
        let steps = horizon
        var residuals = [[Double]](repeating: [], count: steps)
        for origin in origins where origin >= historyLength && origin + steps <= series.count {
            let forecast = points(at: origin, in: series, horizon: steps)
            for step in 0..<steps { residuals[step].append(series[origin + step] - forecast[step]) }
        }
        // The median is the point forecast itself; the other quantiles its residuals' (a bias seen on
        // older origins is not carried into the point).
        residualQuantiles = residuals.map { values in
            let sorted = values.sorted()
            return quantiles.map { $0 == 0.5 ? 0 : Float(Conformal.offset(sorted: sorted, level: Double($0)) ?? 0) }
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

/// The Theta method (Assimakopoulos & Nikolopoulos 2000, as Hyndman & Billah 2003 show it:
/// simple exponential smoothing with a drift of half the series' linear trend), on the
/// series less its additive daily profile when `season` > 1, which is added back.
public struct Theta: Sendable, Equatable {
    public var alpha: Double
    public var season: Int

    /// The additive daily profile of the last (up to four) whole seasons, by phase: the mean of
    /// the series less its centred moving average over one season (so a trend within the day is
    /// not taken for a profile), centred on 0. The phase of the series' last row is `season − 1`.
    func profile(_ series: [Double]) -> [Double] {
        guard season > 1, series.count >= 2 * season else { return [] }
        let seasons = min(4, series.count / season)
        let tail = Array(series.suffix(seasons * season))
        // Centred mean over `season` rows (half weight on both ends when the season is even).
        var prefix = [0.0]
        for value in tail { prefix.append(prefix.last! + value) }
        let half = season / 2
        var sums = [Double](repeating: 0, count: season)
        var counts = [Double](repeating: 0, count: season)
        for index in half..<(tail.count - half) {
            var window = prefix[index + half + 1] - prefix[index - half]
            if season % 2 == 0 { window -= (tail[index - half] + tail[index + half]) / 2 }
            sums[index % season] += tail[index] - window / Double(season)
            counts[index % season] += 1
        }
        let raw = (0..<season).map { counts[$0] > 0 ? sums[$0] / counts[$0] : 0 }
        let mean = raw.reduce(0, +) / Double(season)
        return raw.map { $0 - mean }
    }

    func adjusted(_ series: [Double], profile: [Double]) -> [Double] {
        guard !profile.isEmpty else { return series }
        let offset = season - series.count % season
        return series.enumerated().map { index, value in value - profile[(index + offset) % season] }
    }

    /// Level after smoothing, and one-step squared error.
    func smooth(_ series: [Double]) -> (level: Double, sse: Double) {
        guard var level = series.first else { return (0, 0) }
        var sse = 0.0
        for value in series.dropFirst() {
            sse += (value - level) * (value - level)
            level += alpha * (value - level)
        }
        return (level, sse)
    }

    public func forecast(_ series: [Double], horizon: Int) -> [Double] {
        let profile = profile(series)
        let values = adjusted(series, profile: profile)
        let n = Double(values.count)
        guard values.count > 1 else { return [Double](repeating: series.last ?? 0, count: max(1, horizon)) }
        // Ordinary least squares slope of the values on 0…n−1.
        let meanX = (n - 1) / 2
        let meanY = values.reduce(0, +) / n
        var covariance = 0.0
        var variance = 0.0
        for (index, value) in values.enumerated() {
            covariance += (Double(index) - meanX) * (value - meanY)
            variance += (Double(index) - meanX) * (Double(index) - meanX)
        }
        let slope = variance > 0 ? covariance / variance : 0
        let level = smooth(values).level
        let decay = pow(1 - alpha, n)
        return (1...max(1, horizon)).map { step in
            let drift = slope / 2 * (Double(step) - 1 + 1 / alpha - decay / alpha)
            let seasonal = profile.isEmpty ? 0 : profile[(step - 1) % season]
            return level + drift + seasonal
        }
    }

    /// α by one-step squared error on the (adjusted) series.
    public static func fit(_ series: [Double], season: Int) -> Theta {
        var best = Theta(alpha: 0.5, season: season)
        var bestSSE = Double.infinity
        let values = best.adjusted(series, profile: best.profile(series))
        for alpha in [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0] {
            let sse = Theta(alpha: alpha, season: season).smooth(values).sse
            if sse < bestSSE {
                bestSSE = sse
                best.alpha = alpha
            }
        }
        return best
    }

    /// Whether the autocorrelation at lag `season` is significant at 90 % (the M4 Theta's
    /// test: |r_m| > 1.645 √((1 + 2 Σ_{k<m} r_k²) / n)), on three seasons at least.
    public static func isSeasonal(_ series: [Double], season: Int) -> Bool {
        guard season > 1, series.count >= 3 * season else { return false }
        let values = Array(series.suffix(8 * season))
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let centred = values.map { $0 - mean }
        let denominator = centred.reduce(0) { $0 + $1 * $1 }
        guard denominator > 0 else { return false }
        func r(_ lag: Int) -> Double {
            var sum = 0.0
            for index in lag..<centred.count { sum += centred[index] * centred[index - lag] }
            return sum / denominator
        }
        var squares = 0.0
        for lag in 1..<season { squares += r(lag) * r(lag) }
        return abs(r(season)) > 1.645 * ((1 + 2 * squares) / n).squareRoot()
    }
}
