import Forecasting
import Foundation
import KubeCore

/// The forecast load at one future step: at the policy's quantile, the median, and the
/// model's lowest and highest quantiles (the band around it).
public struct ForecastPoint: Sendable, Equatable {
    public var time: Date
    public var value: Double
    public var median: Double
    public var low: Double
    public var high: Double

    public init(time: Date, value: Double, median: Double, low: Double? = nil, high: Double? = nil) {
        self.time = time
        self.value = value
        self.median = median
        self.low = low ?? min(value, median)
        self.high = high ?? max(value, median)
    }
}

extension ForecastPoint {
    /// The forecast for the acting step: the latest point at or before now + the acting horizon (the one definition
    /// the calibration, the backtest's coverage and the dashboard score).
    public static func acting(in forecast: [ForecastPoint], now: Date, spec: PolicySpec) -> ForecastPoint? {
        let at = now.addingTimeInterval(spec.actingHorizon)
        return forecast.filter { $0.time <= at }.max { $0.time < $1.time }
    }
}

public enum Forecast {
    /// Runs the model on the load history. The policy's quantile is read off the model's
    /// quantile outputs by linear interpolation between the two that bracket it (clamped to
    /// the outermost), so a p70 policy works with a p50/p90 model.
    /// `inputNames` names each sample's `inputs` (the policy's covariates, in order).
    public static func points(
        _ forecaster: Forecaster, history: [LoadSample], events: [CalendarEvent], quantile: Double,
        inputNames: [String] = []
    ) throws -> [ForecastPoint] {
        let header = forecaster.header
        var columns = [header.targetColumn: history.map { Float($0.load) }]
        for (index, name) in inputNames.enumerated() {
            columns[name] = history.map { index < $0.inputs.count ? Float($0.inputs[index]) : 0 }
        }
        let table = TimeSeriesTable(
            timestamps: history.map(\.time), columns: columns, columnNames: [header.targetColumn] + inputNames)
        let steps = try forecaster.forecast(table, events: events)
        let levels = header.quantiles.isEmpty ? [0.5] : header.quantiles.map(Double.init)
        // The model's outputs in ascending quantile order, sorted once for every step.
        let order = levels.indices.sorted { levels[$0] < levels[$1] }
        let sortedLevels = order.map { levels[$0] }
        return steps.map { step in
            // A model may output anything: negative or non-finite loads mean no load.
            let values = order.map { index -> Double in
                let value = Double(step.values[index])
                return value.isFinite ? max(0, value) : 0
            }
            func at(_ q: Double) -> Double { Conformal.interpolateSorted(q, levels: sortedLevels, values: values) }
            return ForecastPoint(time: step.timestamp, value: at(quantile), median: at(0.5), low: at(0), high: at(1))
        }
    }

    /// Stale (trained on data older than maxAge) or failing its recorded accuracy gate.
    public static func health(of header: ModelHeader, spec: PolicySpec, now: Date) -> (
        problem: ModelProblem, message: String
    )? {
        let age = now.timeIntervalSince(header.trainingEnd)
        if age > spec.modelMaxAgeSeconds {
            return (
                .stale,
                "trained on data up to \(Timestamps.format(header.trainingEnd)), older than "
                    + "\(Int(spec.modelMaxAgeSeconds)) s"
            )
        }
        // A classical forecaster that won the selection beat the baselines (they were among
        // its rivals) on the policy's loss: the LSTM's MAE does not judge it.
        let servesLSTM = (header.selection?.served ?? "lstm") == "lstm"
        if servesLSTM, let mae = header.testMetrics?.mae, let baseline = header.baselineMetrics["seasonal_naive"]?.mae,
            Double(mae) > spec.modelMaxMAERatio * Double(baseline)
        {
            return (
                .failsAccuracyGate,
                String(
                    format: "holdout MAE %.2f is above %.2f × seasonal-naive MAE %.2f", mae, spec.modelMaxMAERatio,
                    baseline)
            )
        }
        return nil
    }
}
