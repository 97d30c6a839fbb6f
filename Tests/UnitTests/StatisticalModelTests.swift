import Autoscaler
import Forecasting
import Foundation
import PolicyEngine
import Simulation
import TestSupport
import Testing

/// The classical forecasters, the selection among them and the LSTM, and online calibration.
@Suite struct StatisticalModelTests {
    /// A reproducible noise source.
    struct Noise {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53) - 0.5
        }
    }

    @Test func arimaRecoversAnAutoregressiveDifference() {
        var noise = Noise(state: 7)
        var difference = 0.0
        var level = 100.0
        var series: [Double] = []
        for _ in 0..<3000 {
            difference = 0.6 * difference + noise.next()
            level += difference
            series.append(level)
        }
        let model = AutoRegression.fitDifferenced(series)
        #expect(model.coefficients.count >= 1 && abs(model.coefficients[0] - 0.6) < 0.08, "\(model)")
    }

    @Test func exponentialSmoothingFollowsATrend() {
        let series = (0..<500).map { 10 + 0.5 * Double($0) }
        let model = ExponentialSmoothing.fit(series)
        #expect(model.beta > 0, "a trend was chosen: \(model)")
        let forecast = model.forecast(series, horizon: 4)
        #expect(abs(forecast[3] - (10 + 0.5 * 503)) < 1, "\(forecast)")
    }

    @Test func seasonalNaiveRepeatsTheLastSeason() {
        let model = StatisticalModel(
            kind: .seasonalNaive, season: 4, parameters: [], quantiles: [0.5], residualQuantiles: [[0], [0], [0]])
        #expect(model.points(after: [1, 2, 3, 4, 5, 6, 7, 8], horizon: 3) == [5, 6, 7])
    }

    static func seasonal(days: Int, noise amount: Double, seed: UInt64) -> [Double] {
        var noise = Noise(state: seed)
        return (0..<(days * 288)).map { 200 + 100 * sin(Double($0) / 288 * 2 * .pi) + amount * noise.next() }
    }

    @Test func theBestForecasterOnTheHoldoutServes() {
        let series = Self.seasonal(days: 14, noise: 10, seed: 3)
        let origins = Array((series.count * 7 / 10)..<(series.count - 12))
        // An LSTM that is far off everywhere loses to a seasonal forecaster …
        let wrong = Dictionary(uniqueKeysWithValues: origins.map { ($0, [Float](repeating: 0, count: 24)) })
        let selection = ModelSelection.select(
            series: series, fitEnd: origins[0], origins: origins, season: 288, quantiles: [0.5, 0.9], horizon: 12,
            quantile: 0.8, lstmForecasts: wrong)
        #expect(selection?.served != "lstm" && selection?.statistical != nil, "\(String(describing: selection))")
        #expect(
            ["seasonal_naive", "holt_winters"].contains(selection?.served ?? ""), "\(String(describing: selection))")
        // … and one that knows the future wins.
        let perfect = Dictionary(
            uniqueKeysWithValues: origins.map { origin in
                (origin, (0..<12).flatMap { step in [Float(series[origin + step]), Float(series[origin + step])] })
            })
        let knowing = ModelSelection.select(
            series: series, fitEnd: origins[0], origins: origins, season: 288, quantiles: [0.5, 0.9], horizon: 12,
            quantile: 0.8, lstmForecasts: perfect)
        #expect(knowing?.served == "lstm" && knowing?.statistical == nil)
        #expect((knowing?.scores.count ?? 0) >= 6, "every candidate scored: \(String(describing: knowing?.scores))")
    }

    /// A classical winner serves with its parameters refitted on every row before the test
    /// part, and with the bands measured out of sample on the validation origins.
    @Test func aClassicalWinnerIsRefittedOnTheRowsBeforeTheTestPart() throws {
        // The level steps up halfway through the validation part: a fit on the training part
        // alone has not seen it.
        var series = Self.seasonal(days: 14, noise: 10, seed: 5)
        let testStart = series.count * 85 / 100
        let origins = Array((series.count * 7 / 10)..<(testStart - 12))
        for index in (origins[origins.count / 2])..<series.count { series[index] += 150 }
        let wrong = Dictionary(uniqueKeysWithValues: origins.map { ($0, [Float](repeating: 0, count: 24)) })
        func select(refitEnd: Int?) throws -> ModelSelection {
            try #require(
                ModelSelection.select(
                    series: series, fitEnd: origins[0], refitEnd: refitEnd, origins: origins, season: 288,
                    quantiles: [0.5, 0.9], horizon: 12, quantile: 0.8, lstmForecasts: wrong))
        }
        let trainedOnly = try select(refitEnd: nil)
        let refitted = try select(refitEnd: testStart)
        let served = try #require(refitted.statistical)
        let before = try #require(trainedOnly.statistical)
        #expect(refitted.served == trainedOnly.served && refitted.scores == trainedOnly.scores)
        let expected = StatisticalModel.fit(
            served.kind, series: Array(series[..<testStart]), season: 288, quantiles: [0.5, 0.9], horizon: 12)
        #expect(served.parameters == expected.parameters)
        #expect(served.residualQuantiles == before.residualQuantiles)
        // (ARIMA wins here; a winner without parameters, naive say, would make this vacuous.)
        #expect(
            !before.parameters.isEmpty && served.parameters != before.parameters,
            "\(served.kind): the refit saw the step")
    }

    @Test func aClassicalForecastIsCalibrated() {
        let series = Self.seasonal(days: 21, noise: 30, seed: 11)
        let fitEnd = series.count / 2
        var model = StatisticalModel.fit(
            .seasonalNaive, series: Array(series[..<fitEnd]), season: 288, quantiles: [0.5, 0.9], horizon: 3)
        model.calibrate(series: series, origins: Array(stride(from: fitEnd, to: fitEnd + 2000, by: 3)))
        var covered = 0
        var count = 0
        for origin in stride(from: fitEnd + 2000, to: series.count - 3, by: 2) {
            let forecast = model.forecast(after: Array(series[(origin - 1152)..<origin]))
            count += 1
            if series[origin] <= Double(forecast[0][1]) { covered += 1 }
        }
        let coverage = Double(covered) / Double(count)
        #expect(abs(coverage - 0.9) < 0.05, "p90 covers \(coverage)")
    }

    @Test func onlineTrackingCalibratesABiasedForecast() {
        var tracker = QuantileTracker()
        var noise = Noise(state: 5)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var history: [LoadSample] = []
        for index in 0..<3000 {
            let time = start.addingTimeInterval(Double(index) * 300)
            history.append(LoadSample(time: time, load: 100 + 20 * noise.next()))
            if history.count > 50 { history.removeFirst() }
            tracker.observe(history, quantile: 0.8, tolerance: 150)
            // A forecast 30 below the truth: uncalibrated, it would cover nothing.
            tracker.expect(70 + tracker.offset, at: time.addingTimeInterval(300))
        }
        let recent = tracker.coverage ?? 0
        #expect(abs(recent - 0.8) < 0.05, "coverage over the run \(recent), offset \(tracker.offset)")
    }
}

/// `holdoutScore` scores what an artefact serves, from each origin with only the rows before
/// it: a naive selection's score is the naive forecast's, by hand, on the same origins.
@Suite struct HoldoutScoreTests {
    @Test func theServedForecasterIsWhatIsScored() throws {
        let trace = try TraceLibrary.trace("seed", loadScale: SeedScenario.loadScale)
        let table = TimeSeriesTable(
            timestamps: trace.table.timestamps, columns: ["load": trace.demand.map(Float.init)], columnNames: ["load"])
        var artefact = try ModelArtefact.load(path: Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path)
        artefact.header.selection = nil
        guard let lstm = Forecaster(artefact).holdoutScore(table, quantile: 0.8) else {
            Issue.record("the LSTM could not be scored")
            return
        }
        #expect(lstm.served == "lstm")

        let header = artefact.header
        artefact.serve(.naive)
        guard let naive = Forecaster(artefact).holdoutScore(table, step: 3, quantile: 0.8) else {
            Issue.record("the naive selection could not be scored")
            return
        }
        #expect(naive.served == "naive")
        let series = table.columns[header.targetColumn]!
        let first = max(header.sequenceLength, Int(Double(table.count) * 0.85))
        let last = table.count - 3
        let stride = max(1, (last - first + 199) / 200)
        let origins = Array(Swift.stride(from: first, through: last, by: stride))
        #expect(naive.origins == origins.count)
        let byHand =
            origins.map { abs(Double(series[$0 + 2]) - Double(series[$0 - 1])) }.reduce(0, +)
            / Double(origins.count)
        #expect(abs(naive.metrics.mae - byHand) < 1e-3, "\(naive.metrics.mae) vs \(byHand)")
        let seasonalByHand =
            origins.map { abs(Double(series[$0 + 2]) - Double(series[$0 + 2 - 288])) }.reduce(0, +)
            / Double(origins.count)
        #expect(abs(naive.seasonalNaive.mae - seasonalByHand) < 1e-3)
        #expect(abs(naive.metrics.mae - lstm.metrics.mae) > 1e-3, "two forecasters, two scores")
        // With no offsets the naive "p80" is the last value: covered when the load did not rise.
        let covered = origins.filter { series[$0 + 2] <= series[$0 - 1] }.count
        #expect(abs(naive.coverage - Double(covered) / Double(origins.count)) < 1e-9)
    }
}
