import Foundation

extension ModelHeader {
    /// History rows a forecast reads, as the controller fetches them: two input windows and an
    /// hour of margin (at least 48), or up to four seasons for a classical forecaster that won
    /// the selection (Holt-Winters: three to start, the rest to settle).
    public var historyRows: Int {
        let statistical = selection?.statistical.map { min($0.readRows, 4 * 2016) } ?? 0
        return max(Self.historyRows(sequenceLength: sequenceLength), statistical)
    }

    /// The same without a model (nil) or for an LSTM of `sequenceLength`.
    public static func historyRows(sequenceLength: Int?) -> Int {
        max(48, (sequenceLength ?? 24) * 2 + 12)
    }
}

extension Forecaster {
    /// The served forecaster (the selection's winner, else the LSTM) scored on the last
    /// `testFraction` of a table, forecasting from each origin exactly as the controller
    /// does — from the rows before it only. Two artefacts scored on one table are compared on
    /// the same origins, whichever kind each serves.
    public struct HoldoutScore: Sendable, Equatable {
        /// The median forecast at `step` against the outcome.
        public var metrics: ForecastMetrics
        /// Mean pinball loss at `quantile`, at `step`: the forecast there read as the controller reads it
        /// (linear between the model's bracketing quantiles).
        public var pinball: Double
        /// Share of outcomes at or below that quantile's forecast.
        public var coverage: Double
        /// Mean distance from the median to that quantile's forecast: how much the band adds.
        public var bandWidth: Double = 0
        public var origins: Int
        /// Seasonal-naive (a day ago, at the same step) on the same origins.
        public var seasonalNaive: ForecastMetrics
        /// What served: "lstm" or a classical kind.
        public var served: String
        /// With `baselines: true`: every classical forecaster, fitted on the rows before the
        /// first origin, its point forecast at `step` from the same origins.
        public var baselines: [String: ForecastMetrics] = [:]
    }

    /// Nil when the table is too short for `maxOrigins`' worth of test origins (at least 10)
    /// or a forecast fails (columns the model does not know).
    public func holdoutScore(
        _ table: TimeSeriesTable, events: [CalendarEvent] = [], step: Int = 1, quantile: Float = 0.8,
        testFraction: Double = 0.15, maxOrigins: Int = 200, baselines: Bool = false
    ) -> HoldoutScore? {
        let step = min(max(step, 1), header.horizon)
        guard let series = table.columns[header.targetColumn] else { return nil }
        let statistical = header.selection?.statistical
        // Each origin reads what the controller would fetch, or what there is before it when
        // that is still enough for what serves.
        let reach = header.historyRows
        let needed = max(header.sequenceLength, statistical?.historyLength ?? 0)
        let first = max(needed, Int(Double(table.count) * (1 - testFraction)))
        let last = table.count - step
        guard last - first >= 10 else { return nil }
        let stride = max(1, (last - first + maxOrigins - 1) / maxOrigins)
        let quantiles = header.quantiles
        let median = Conformal.nearest(0.5, in: quantiles)
        let level = quantiles.isEmpty ? 0.5 : Double(quantile)
        let levels = quantiles.isEmpty ? [0.5] : quantiles.map(Double.init)
        var width = 0.0
        var actual: [Float] = []
        var predicted: [Float] = []
        let season = Conformal.season(stepSeconds: header.stepSeconds)
        var pinball = 0.0
        var covered = 0
        let origins = Array(Swift.stride(from: first, through: last, by: stride))
        for origin in origins {
            let rows = max(0, origin - reach)..<origin
            let history = TimeSeriesTable(
                timestamps: Array(table.timestamps[rows]),
                columns: table.columns.mapValues { Array($0[rows]) }, columnNames: table.columnNames)
            guard let forecast = try? forecast(history, events: events), forecast.count >= step else { return nil }
            let values = forecast[step - 1].values
            let outcome = series[origin + step - 1]
            actual.append(outcome)
            predicted.append(values[min(median, values.count - 1)])
            let high = Conformal.interpolate(level, levels: levels, values: values.map { Double(max(0, $0)) })
            width += high - Double(values[min(median, values.count - 1)])
            pinball += ModelSelection.pinball(Double(outcome), high, quantile: level)
            if Double(outcome) <= high { covered += 1 }
        }
        var score = HoldoutScore(
            metrics: ForecastMetrics(actual: actual, predicted: predicted), pinball: pinball / Double(actual.count),
            coverage: Double(covered) / Double(actual.count), bandWidth: width / Double(actual.count),
            origins: actual.count,
            seasonalNaive: ForecastMetrics(
                actual: actual,
                predicted: Baseline.seasonalNaive.predict(
                    series: series, windows: origins, step: step, season: season, fitEnd: first)),
            served: statistical != nil ? (header.selection?.served ?? "lstm") : "lstm")
        if baselines {
            let values = series.map(Double.init)
            let fitted = Array(values[..<first])
            for kind in StatisticalModel.Kind.candidates {
                if kind.isSeasonal, fitted.count < 3 * season { continue }
                let model = StatisticalModel.fit(kind, series: fitted, season: season, quantiles: [0.5], horizon: step)
                let forecasts = origins.map { Float(model.points(at: $0, in: values, horizon: step)[step - 1]) }
                score.baselines[kind.rawValue] = ForecastMetrics(actual: actual, predicted: forecasts)
            }
        }
        return score
    }
}
