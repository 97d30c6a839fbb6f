import Foundation

/// Which forecaster a model artefact serves, and why: the LSTM, the classical candidates and
/// combinations of the best three are scored on the same rolling origins of the validation
/// part (each sees only the data before its origin) by the median forecast's mean absolute
/// error at the step the policy acts on (lead + one step), on the more recent half of the
/// origins; the other half calibrates the bands and ranks and weights the combinations' members.
/// Of the candidates within 2 % of the best score, the simplest serves (naive first, the LSTM
/// last), so a complex forecaster serves only where it is not merely tied.
public struct ModelSelection: Codable, Sendable, Equatable {
    /// "lstm", a `StatisticalModel.Kind` raw value, or a combination ("median(ets,theta,arima)",
    /// "weighted(…)").
    public var served: String
    /// The quantile the bands were judged at when the artefact was made (kept for its readers).
    public var quantile: Float
    /// Mean absolute error at the acting step per candidate on the scoring origins.
    public var scores: [String: Double]
    public var origins: Int
    /// The classical forecaster to serve, when one won.
    public var statistical: StatisticalModel?
    /// The horizon step (1-based) scored; nil in artefacts of earlier trainers (they scored
    /// the pinball loss over the whole horizon).
    public var actingStep: Int?

    /// Within this factor of the best score a simpler candidate is not beaten.
    public static let tolerance = 1.02

    public init(
        served: String, quantile: Float, scores: [String: Double], origins: Int, statistical: StatisticalModel?,
        actingStep: Int? = nil
    ) {
        self.served = served
        self.quantile = quantile
        self.scores = scores
        self.origins = origins
        self.statistical = statistical
        self.actingStep = actingStep
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

    /// One candidate's point forecasts at every origin, and what serves it when it wins.
    struct Candidate {
        var name: String
        var model: StatisticalModel?
        var points: [Int: [Double]]
    }

    /// Fits the classical candidates on `series[..<fitEnd]`, scores them, their combinations
    /// and the LSTM (whose forecasts at `origins` are given, uncalibrated, per origin:
    /// horizon × quantiles) and picks. `origins` are first-target rows in the validation part.
    ///
    /// A classical winner is then refitted on `series[..<refitEnd]` (the rows before the test
    /// part), so what serves has seen the most recent rows the holdout allows rather than only
    /// the training part; its bands keep the residual quantiles measured out of sample on the
    /// validation origins.
    public static func select(
        series: [Double], fitEnd: Int, refitEnd: Int? = nil, origins allOrigins: [Int], season: Int,
        quantiles: [Float], horizon: Int, actingStep: Int? = nil, quantile: Float, lstmForecasts: [Int: [Float]]
    ) -> ModelSelection? {
        guard !quantiles.isEmpty, allOrigins.count >= 20, horizon >= 1 else { return nil }
        // At most 200 origins, evenly spread; the first half calibrates, the second scores.
        let stride = max(1, allOrigins.count / 200)
        let origins = Swift.stride(from: 0, to: allOrigins.count, by: stride).map { allOrigins[$0] }
            .filter { $0 + horizon <= series.count }
        let calibrating = Array(origins.prefix(origins.count / 2))
        let scoring = Array(origins.dropFirst(origins.count / 2))
        guard !calibrating.isEmpty, !scoring.isEmpty else { return nil }
        let step = min(max(actingStep ?? horizon, 1), horizon) - 1
        func error(_ candidate: Candidate, on set: [Int], shift: Double = 0) -> Double {
            set.reduce(0) { $0 + abs(series[$1 + step] - candidate.points[$1]![step] - shift) } / Double(set.count)
        }
        // Scored as it would serve: a classical forecaster's median is its point forecast; the
        // LSTM's is its p50 shifted by its median residual (here, on the calibrating origins).
        func served(_ candidate: Candidate) -> Double {
            guard candidate.model == nil else { return error(candidate, on: scoring) }
            let residuals = calibrating.map { series[$0 + step] - candidate.points[$0]![step] }.sorted()
            return error(candidate, on: scoring, shift: Conformal.offset(sorted: residuals, level: 0.5) ?? 0)
        }

        var candidates = fittedCandidates(
            series: series, fitEnd: fitEnd, origins: origins, season: season, quantiles: quantiles, horizon: horizon)
        candidates += combinations(of: candidates, ranking: { error($0, on: calibrating) })
        if let lstm = lstmCandidate(origins: origins, quantiles: quantiles, horizon: horizon, forecasts: lstmForecasts)
        {
            candidates.append(lstm)
        }
        let scores = Dictionary(uniqueKeysWithValues: candidates.map { ($0.name, served($0)) })
        guard let best = scores.values.min(), best.isFinite else { return nil }
        // Simplest first: the candidates in their order, then the combinations, the LSTM last.
        let chosen = candidates.first { scores[$0.name]! <= best * tolerance }!
        var statistical = chosen.model
        if var model = statistical {
            model.calibrate(series: series, origins: origins)
            if let refitEnd, refitEnd > fitEnd, refitEnd <= series.count {
                model = refitted(model, series: Array(series[..<refitEnd]), horizon: horizon)
            }
            statistical = model
        }
        return ModelSelection(
            served: chosen.name, quantile: quantile, scores: scores, origins: scoring.count, statistical: statistical,
            actingStep: step + 1)
    }

    /// Each candidate kind fitted on the training part, with its forecasts from every origin.
    static func fittedCandidates(
        series: [Double], fitEnd: Int, origins: [Int], season: Int, quantiles: [Float], horizon: Int
    ) -> [Candidate] {
        let training = Array(series[..<fitEnd])
        var candidates: [Candidate] = []
        for kind in StatisticalModel.Kind.candidates {
            if kind.isSeasonal, training.count < 3 * season { continue }
            let model = StatisticalModel.fit(
                kind, series: training, season: season, quantiles: quantiles, horizon: horizon)
            guard origins.allSatisfy({ $0 >= model.historyLength }) else { continue }
            let points = Dictionary(
                uniqueKeysWithValues: origins.map { ($0, model.points(at: $0, in: series, horizon: horizon)) })
            guard points.values.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { continue }
            candidates.append(Candidate(name: kind.rawValue, model: model, points: points))
        }
        return candidates
    }

    /// The median and the inverse-error weighted mean of the three best candidates by
    /// `ranking` (their error on the calibrating origins, which also sets the weights).
    static func combinations(of candidates: [Candidate], ranking: (Candidate) -> Double) -> [Candidate] {
        let ranked = candidates.map { ($0, ranking($0)) }.filter { $0.1.isFinite }.sorted { $0.1 < $1.1 }.prefix(3)
        guard ranked.count == 3 else { return [] }
        let members = ranked.map(\.0)
        let inverse = ranked.map { 1 / max($0.1, 1e-9) }
        let total = inverse.reduce(0, +)
        let names = members.map(\.name).joined(separator: ",")
        return [(nil, "median"), (inverse.map { $0 / total }, "weighted")].map { weights, label in
            let points = Dictionary(
                uniqueKeysWithValues: members[0].points.keys.map { origin in
                    (origin, StatisticalModel.combine(members.map { $0.points[origin]! }, weights: weights))
                })
            return Candidate(
                name: "\(label)(\(names))",
                model: StatisticalModel.combining(members.map { $0.model! }, weights: weights),
                points: points)
        }
    }

    /// The LSTM's median (the quantile nearest 0.5), when it forecast at every origin.
    static func lstmCandidate(origins: [Int], quantiles: [Float], horizon: Int, forecasts: [Int: [Float]]) -> Candidate?
    {
        guard origins.allSatisfy({ (forecasts[$0]?.count ?? 0) >= horizon * quantiles.count }) else { return nil }
        let column = Conformal.nearest(0.5, in: quantiles)
        let points = Dictionary(
            uniqueKeysWithValues: origins.map { origin in
                (origin, (0..<horizon).map { Double(forecasts[origin]![$0 * quantiles.count + column]) })
            })
        return Candidate(name: "lstm", model: nil, points: points)
    }

    /// `model` (or each of a combination's members) fitted again on `series`, keeping its bands.
    static func refitted(_ model: StatisticalModel, series: [Double], horizon: Int) -> StatisticalModel {
        var result: StatisticalModel
        if model.kind == .combination, let members = model.components {
            result = StatisticalModel.combining(
                members.map { refitted($0, series: series, horizon: horizon) }, weights: model.weights)
        } else {
            result = StatisticalModel.fit(
                model.kind, series: series, season: model.season, quantiles: model.quantiles, horizon: horizon)
        }
        result.residualQuantiles = model.residualQuantiles
        return result
    }

}

extension ModelArtefact {
    /// The same artefact serving `kind` instead of what its selection chose: fitted on
    /// `series[..<refitEnd]`, its bands calibrated on `origins` (each reading only the rows before
    /// it). The trainer serves seasonal naive this way when what the selection chose does not beat it
    /// on the holdout. Nil when the series is too short for `kind` or the artefact has no quantiles.
    public func serving(_ kind: StatisticalModel.Kind, series: [Double], origins: [Int], refitEnd: Int)
        -> ModelArtefact?
    {
        let quantiles = header.network.quantiles
        let season = Conformal.season(stepSeconds: header.stepSeconds)
        let horizon = header.horizon
        guard !quantiles.isEmpty, refitEnd <= series.count, !kind.isSeasonal || refitEnd >= 3 * season else {
            return nil
        }
        var model = StatisticalModel.fit(
            kind, series: Array(series[..<refitEnd]), season: season, quantiles: quantiles, horizon: horizon)
        let usable = origins.filter { $0 >= model.historyLength && $0 + horizon <= series.count }
        guard !usable.isEmpty else { return nil }
        model.calibrate(series: series, origins: usable)
        var artefact = self
        artefact.header.selection = ModelSelection(
            served: kind.rawValue, quantile: header.selection?.quantile ?? 0.8, scores: header.selection?.scores ?? [:],
            origins: header.selection?.origins ?? 0, statistical: model, actingStep: header.selection?.actingStep)
        return artefact
    }
}
