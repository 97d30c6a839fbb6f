import Foundation
import TestSupport
import Testing

@testable import Forecasting

@Suite("Model artefact")
struct ModelArtefactTests {
    static func sample() -> ModelArtefact {
        let network = NetworkConfiguration(
            inputSize: 4, hiddenSize: 6, layers: 2, dropout: 0.1, headSize: 5, horizon: 3, quantiles: [0.5, 0.9])
        let parameters = ForecasterNetwork(network).initialParameters(seed: 1)
        let header = ModelHeader(
            network: network, featureSet: "basic", featureNames: ["a", "b", "c", "d"], targetColumn: "a",
            scaler: MinMaxScaler(fitting: [0, 1, 2, 3, 4, 5, 6, 7], columns: 4), sequenceLength: 12, stepSeconds: 300,
            trainingStart: Date(timeIntervalSince1970: 1_700_000_000),
            trainingEnd: Date(timeIntervalSince1970: 1_700_086_400),
            testMetrics: ForecastMetrics(actual: [1, 2, 3], predicted: [1, 2, 4]), baselineMetrics: [:],
            createdAt: Date(timeIntervalSince1970: 1_700_100_000), parameterCount: parameters.count,
            levelNormalization: true)
        return ModelArtefact(header: header, parameters: parameters)
    }

    @Test func roundTripsThroughAFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("m.fsm")
        let artefact = Self.sample()
        try artefact.write(to: path)
        let loaded = try ModelArtefact.load(path: path)
        #expect(loaded.header == artefact.header)
        #expect(loaded.parameters == artefact.parameters)
        // No temporary files are left behind by the atomic write.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["m.fsm"])
    }

    @Test func everySingleFlippedByteIsDetected() throws {
        let data = try Self.sample().encoded()
        for offset in stride(from: 0, to: data.count, by: max(1, data.count / 97)) {
            var corrupt = data
            corrupt[offset] ^= 0x40
            #expect(throws: ModelArtefact.LoadError.self, "flip at \(offset)") {
                try ModelArtefact.decode(corrupt, path: "m.fsm")
            }
        }
    }

    @Test func truncationIsReportedAsTruncated() throws {
        let data = try Self.sample().encoded()
        for length in [3, 20, data.count / 2, data.count - 1] {
            #expect(throws: ModelArtefact.LoadError.truncated(path: "m.fsm")) {
                try ModelArtefact.decode(data.prefix(length), path: "m.fsm")
            }
        }
    }

    @Test func futureVersionAndWrongMagicSayWhatToDo() throws {
        var data = try Self.sample().encoded()
        data[8] = 9
        do {
            _ = try ModelArtefact.decode(data, path: "m.fsm")
            Issue.record("expected an error")
        } catch {
            #expect(error == .unsupportedVersion(path: "m.fsm", found: 9))
            #expect(error.description.contains("upgrade forescale"))
        }
        #expect(throws: ModelArtefact.LoadError.notAnArtefact(path: "x.csv")) {
            try ModelArtefact.decode(Data("timestamp,value\n1,2\n".utf8), path: "x.csv")
        }
    }
}

@Suite("Metrics and baselines")
struct MetricsTests {
    @Test func knownValues() {
        let metrics = ForecastMetrics(actual: [1, 2, 0, 4], predicted: [2, 2, 1, 2])
        #expect(metrics.mae == 1)  // (1 + 0 + 1 + 2) / 4
        #expect(abs(metrics.rmse - (6.0 / 4).squareRoot()) < 1e-12)
        // MAPE over non-zero actuals: (1/1 + 0 + 2/4) / 3 = 50%
        #expect(abs(metrics.mape - 50) < 1e-9)
        #expect(metrics.mapeSkippedZeros == 1)
        #expect(abs(metrics.accuracy - 50) < 1e-9)
        // R² = 1 − SSE/SST = 1 − 6/8.75
        #expect(abs(metrics.r2 - (1 - 6 / 8.75)) < 1e-12)
    }

    @Test func baselinesUseOnlyThePast() {
        let series: [Float] = (0..<20).map { Float($0 % 4) * 10 + Float($0) }
        let windows = [8, 12, 16]
        #expect(
            Baseline.naive.predict(series: series, windows: windows, step: 1, season: 4, fitEnd: 8) == [
                series[7], series[11], series[15],
            ])
        #expect(
            Baseline.seasonalNaive.predict(series: series, windows: windows, step: 1, season: 4, fitEnd: 8) == [
                series[4], series[8], series[12],
            ])
        // Step 3 from window 8 targets row 10: one season back is row 6 (< 8, so allowed).
        #expect(
            Baseline.seasonalNaive.predict(series: series, windows: [8], step: 3, season: 4, fitEnd: 8) == [series[6]])
    }

    @Test func holtWintersTracksAPureSeasonalTrend() {
        let series: [Float] = (0..<200).map { Float($0) * 0.5 + [0, 10, -5, 3][$0 % 4] }
        let model = HoltWinters.fit(series: Array(series[..<150]), season: 4)
        let windows = Array(150..<190)
        let forecasts = model.forecasts(series: series, windows: windows, step: 2)
        for (window, forecast) in zip(windows, forecasts) {
            #expect(abs(forecast - series[window + 1]) < 0.5, "window \(window)")
        }
    }
}
