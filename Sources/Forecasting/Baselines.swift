/// Forecasts a model must beat. Each predicts `series[window + step − 1]` (step ≥ 1) using
/// only `series[..<window]`, matching the windows of `WindowDataset`.
public enum Baseline: String, CaseIterable, Sendable {
    /// The last observed value.
    case naive
    /// The value one season (a day) before the target.
    case seasonalNaive = "seasonal_naive"
    /// Additive Holt-Winters (level, trend, season), smoothing constants fit on the training part.
    case holtWinters = "holt_winters"

    public func predict(series: [Float], windows: [Int], step: Int, season: Int, fitEnd: Int) -> [Float] {
        switch self {
        case .naive:
            return windows.map { series[$0 - 1] }
        case .seasonalNaive:
            return windows.map { window in
                let target = window + step - 1
                let periods = (step + season - 1) / season
                let source = target - periods * season
                return series[max(0, min(source, window - 1))]
            }
        case .holtWinters:
            let model = HoltWinters.fit(series: Array(series[..<fitEnd]), season: season)
            return model.forecasts(series: series, windows: windows, step: step)
        }
    }
}

/// Additive Holt-Winters with a grid search over (α, β, γ) on one-step-ahead squared error.
public struct HoltWinters: Sendable {
    public var alpha: Float
    public var beta: Float
    public var gamma: Float
    public var season: Int

    public static func fit(series: [Float], season: Int) -> HoltWinters {
        let season = max(1, min(season, series.count / 2))
        var best = HoltWinters(alpha: 0.5, beta: 0.01, gamma: 0.1, season: season)
        var bestError = Double.infinity
        for alpha: Float in [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9] {
            for beta: Float in [0, 0.01, 0.05, 0.1] {
                for gamma: Float in [0.01, 0.05, 0.1, 0.3] {
                    let candidate = HoltWinters(alpha: alpha, beta: beta, gamma: gamma, season: season)
                    let error = candidate.oneStepError(series)
                    if error < bestError {
                        bestError = error
                        best = candidate
                    }
                }
            }
        }
        return best
    }

    /// Initial level, trend and seasonal indices from the first two seasons.
    private func initialState(_ series: [Float]) -> (level: Float, trend: Float, seasonal: [Float]) {
        let m = season
        let first = series.prefix(m)
        let level = first.reduce(0, +) / Float(first.count)
        var trend: Float = 0
        if series.count >= 2 * m {
            let second = series[m..<(2 * m)].reduce(0, +) / Float(m)
            trend = (second - level) / Float(m)
        }
        let seasonal = (0..<m).map { index in index < series.count ? series[index] - level : 0 }
        return (level, trend, seasonal)
    }

    private func oneStepError(_ series: [Float]) -> Double {
        var (level, trend, seasonal) = initialState(series)
        var error = 0.0
        for t in season..<series.count {
            let s = seasonal[t % season]
            let forecast = level + trend + s
            let e = Double(series[t] - forecast)
            error += e * e
            let previousLevel = level
            level = alpha * (series[t] - s) + (1 - alpha) * (level + trend)
            trend = beta * (level - previousLevel) + (1 - beta) * trend
            seasonal[t % season] = gamma * (series[t] - level) + (1 - gamma) * s
        }
        return error
    }

    /// Runs the filter over the series once and, at each window, forecasts `step` ahead
    /// from the state that has seen `series[..<window]` only.
    public func forecasts(series: [Float], windows: [Int], step: Int) -> [Float] {
        var (level, trend, seasonal) = initialState(series)
        var result: [Int: Float] = [:]
        let wanted = Set(windows)
        for t in season...series.count {
            if wanted.contains(t) {
                result[t] = level + Float(step) * trend + seasonal[(t + step - 1) % season]
            }
            guard t < series.count else { break }
            let s = seasonal[t % season]
            let previousLevel = level
            level = alpha * (series[t] - s) + (1 - alpha) * (level + trend)
            trend = beta * (level - previousLevel) + (1 - beta) * trend
            seasonal[t % season] = gamma * (series[t] - level) + (1 - gamma) * s
        }
        return windows.map { result[$0] ?? series[$0 - 1] }
    }
}
