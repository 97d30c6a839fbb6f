import Foundation

/// Which forecaster a model artefact serves, and why: the LSTM and the classical candidates
/// are scored on the same rolling origins of the validation part (each sees only the data
/// before its origin), by the loss the decision uses — the pinball loss at `quantile`,
/// averaged over the horizon — after each was calibrated on the other half of the origins.
/// The lowest wins, so the served forecaster is never worse than a baseline on its own
/// holdout, by construction.
public struct ModelSelection: Codable, Sendable, Equatable {
    /// "lstm", or a `StatisticalModel.Kind` raw value.
    public var served: String
    public var quantile: Float
    /// Mean pinball loss per candidate on the scoring origins.
    public var scores: [String: Double]
    public var origins: Int
    /// The classical forecaster to serve, when one won.
    public var statistical: StatisticalModel?

    public init(
        served: String, quantile: Float, scores: [String: Double], origins: Int, statistical: StatisticalModel?
    ) {
        self.served = served
        self.quantile = quantile
        self.scores = scores
        self.origins = origins
        self.statistical = statistical
    }

    /// `scores` as "ets 12.3 · lstm 13.1 · …", best first.
    public var summary: String {
        scores.sorted { $0.value < $1.value }.map { "\($0.key) \(String(format: "%.3g", $0.value))" }
            .joined(separator: " · ")
    }

    public static func pinball(_ actual: Double, _ forecast: Double, quantile: Double) -> Double {
        let error = actual - forecast
        return error >= 0 ? quantile * error : (quantile - 1) * error
    }

    /// Fits the classical candidates on `series[..<fitEnd]`, scores them and the LSTM (whose
    /// forecasts at `origins` are given, uncalibrated, per origin: horizon × quantiles) and
    /// picks. `origins` are first-target rows in the validation part.
    ///
    /// A classical winner is then refitted on `series[..<refitEnd]` (the rows before the test
    /// part), so what serves has seen the most recent rows the holdout allows rather than only
    /// the training part; its bands keep the residual quantiles measured out of sample on the
    /// validation origins.
    public static func select(
        series: [Double], fitEnd: Int, refitEnd: Int? = nil, origins allOrigins: [Int], season: Int,
        quantiles: [Float], horizon: Int, quantile: Float, lstmForecasts: [Int: [Float]]
    ) -> ModelSelection? {
        guard !quantiles.isEmpty, allOrigins.count >= 20 else { return nil }
        // At most 200 origins, evenly spread; the first half calibrates, the second scores.
        let stride = max(1, allOrigins.count / 200)
        let origins = Swift.stride(from: 0, to: allOrigins.count, by: stride).map { allOrigins[$0] }
            .filter { $0 + horizon <= series.count }
        let calibrating = Array(origins.prefix(origins.count / 2))
        let scoring = Array(origins.dropFirst(origins.count / 2))
        guard !calibrating.isEmpty, !scoring.isEmpty else { return nil }
        let q = Double(quantile)
        let levels = quantiles.map(Double.init)
        func valueAtQuantile(_ perQuantile: [Double]) -> Double {
            interpolate(q, levels: levels, values: perQuantile)
        }

        var scores: [String: Double] = [:]
        var models: [StatisticalModel.Kind: StatisticalModel] = [:]
        let training = Array(series[..<fitEnd])
        for kind in StatisticalModel.Kind.allCases {
            if [.seasonalNaive, .holtWinters].contains(kind), training.count < 3 * season { continue }
            var model = StatisticalModel.fit(
                kind, series: training, season: season, quantiles: quantiles, horizon: horizon)
            guard origins.allSatisfy({ $0 >= model.historyLength }) else { continue }
            model.calibrate(series: series, origins: calibrating)
            var loss = 0.0
            var count = 0
            for origin in scoring {
                let points = model.points(at: origin, in: series, horizon: horizon)
                for step in 0..<horizon {
                    let perQuantile = model.residualQuantiles[step].map { points[step] + Double($0) }
                    loss += pinball(series[origin + step], valueAtQuantile(perQuantile), quantile: q)
                    count += 1
                }
            }
            guard count > 0 else { continue }
            scores[kind.rawValue] = loss / Double(count)
            model.calibrate(series: series, origins: origins)
            models[kind] = model
        }
        // The LSTM: calibrated on the same half, scored on the same origins.
        if scoring.allSatisfy({ lstmForecasts[$0] != nil }), calibrating.allSatisfy({ lstmForecasts[$0] != nil }) {
            var offsets = [[Double]](repeating: [Double](repeating: 0, count: quantiles.count), count: horizon)
            for step in 0..<horizon {
                for column in quantiles.indices {
                    let residuals = calibrating.map {
                        series[$0 + step] - Double(lstmForecasts[$0]![step * quantiles.count + column])
                    }.sorted()
                    offsets[step][column] = Conformal.offset(sorted: residuals, level: Double(quantiles[column]))!
                }
            }
            var loss = 0.0
            for origin in scoring {
                for step in 0..<horizon {
                    let perQuantile = quantiles.indices.map {
                        Double(lstmForecasts[origin]![step * quantiles.count + $0]) + offsets[step][$0]
                    }
                    loss += pinball(series[origin + step], valueAtQuantile(perQuantile), quantile: q)
                }
            }
            scores["lstm"] = loss / Double(scoring.count * horizon)
        }
        guard let best = scores.min(by: { $0.value < $1.value }) else { return nil }
        var statistical = StatisticalModel.Kind(rawValue: best.key).flatMap { models[$0] }
        if let chosen = statistical, let refitEnd, refitEnd > fitEnd, refitEnd <= series.count {
            var refitted = StatisticalModel.fit(
                chosen.kind, series: Array(series[..<refitEnd]), season: season, quantiles: quantiles,
                horizon: horizon)
            refitted.residualQuantiles = chosen.residualQuantiles
            statistical = refitted
        }
        return ModelSelection(
            served: best.key, quantile: quantile, scores: scores, origins: scoring.count, statistical: statistical)
    }

    /// Linear between the bracketing levels (levels ascending or not), the nearest outside.
    static func interpolate(_ q: Double, levels: [Double], values: [Double]) -> Double {
        let points = zip(levels, values).sorted { $0.0 < $1.0 }
        guard let first = points.first, let last = points.last else { return 0 }
        if q <= first.0 { return first.1 }
        if q >= last.0 { return last.1 }
        let upper = points.firstIndex { $0.0 >= q }!
        let (a, b) = (points[upper - 1], points[upper])
        return b.0 > a.0 ? a.1 + (b.1 - a.1) * (q - a.0) / (b.0 - a.0) : b.1
    }
}
