import Foundation

/// A loaded model that forecasts the `horizon` steps after the last row of a recent history
/// (at least `sequenceLength` rows, with the columns the model was trained on).
public struct Forecaster: Sendable {
    public struct ForecastError: Error, CustomStringConvertible {
        public var description: String
    }

    /// One forecast step: its time and the point forecast, or one value per quantile.
    public struct Point: Sendable, Equatable {
        public var timestamp: Date
        public var values: [Float]
    }

    public let artefact: ModelArtefact
    private let runner: ForecastRunner

    public init(_ artefact: ModelArtefact) {
        self.artefact = artefact
        runner = ForecastRunner(network: ForecasterNetwork(artefact.header.network), parameters: artefact.parameters)
    }

    public var header: ModelHeader { artefact.header }

    /// The features' training configuration as stored with the model.
    public static func configuration(of header: ModelHeader) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.sequenceLength = header.sequenceLength
        configuration.horizon = header.horizon
        configuration.quantiles = header.quantiles
        configuration.levelNormalization = header.levelNormalization ?? false
        configuration.levelSpan = header.levelSpan ?? 1
        return configuration
    }

    /// Features of `table` for this model (same columns, same scaler).
    public func prepare(_ table: TimeSeriesTable, minimumRows: Int? = nil, events: [CalendarEvent])
        throws(ForecastError) -> PreparedData
    {
        guard let features = FeatureSet(rawValue: header.featureSet) else {
            throw ForecastError(description: "model uses unknown feature set '\(header.featureSet)'")
        }
        let prepared: PreparedData
        do {
            prepared = try FeatureBuilder.prepare(
                table, targetColumn: header.targetColumn, features: features,
                configuration: Self.configuration(of: header),
                scaler: header.scaler, minimumRows: minimumRows, events: events, inputs: header.inputColumns)
        } catch {
            throw ForecastError(description: error.description)
        }
        guard prepared.featureNames == header.featureNames else {
            throw ForecastError(
                description:
                    "the model was trained on columns \(header.featureNames.joined(separator: ", ")); the data gives "
                    + "\(prepared.featureNames.joined(separator: ", "))"
            )
        }
        return prepared
    }

    /// The next `horizon` steps after `history`'s last row.
    public func forecast(_ samples: TimeSeriesTable, events: [CalendarEvent] = []) throws(ForecastError) -> [Point] {
        // The model's grid, anchored at the latest sample: a missed scrape or a late
        // datapoint must not shift every lag (and a day-ago row) by one.
        let history: TimeSeriesTable
        do {
            (history, _) = try samples.regularized(
                step: header.stepSeconds, lastRows: max(header.historyRows, header.sequenceLength), path: "the history")
        } catch {
            throw ForecastError(description: error.description)
        }
        guard history.count >= header.sequenceLength else {
            throw ForecastError(
                description: "needs at least \(header.sequenceLength) rows of history, has \(history.count)")
        }
        // The classical forecaster that won the selection, when the history is long enough
        // for it (else the LSTM the artefact also holds).
        if let statistical = header.selection?.statistical, history.count >= statistical.historyLength,
            let column = history.columns[header.targetColumn]
        {
            let series = column.suffix(statistical.readRows).map(Double.init)
            let last = history.timestamps[history.count - 1]
            return statistical.forecast(after: series).enumerated().map { step, values in
                Point(timestamp: last.addingTimeInterval(header.stepSeconds * Double(step + 1)), values: values)
            }
        }
        // `horizon` placeholder rows after the history so its last rows form one window.
        var extended = history
        for index in 1...header.horizon {
            extended.timestamps.append(
                history.timestamps[history.count - 1].addingTimeInterval(header.stepSeconds * Double(index)))
            for name in history.columnNames { extended.columns[name]!.append(history.columns[name]!.last!) }
        }
        let prepared = try prepare(extended, minimumRows: 0, events: events)
        let window = history.count
        let outputs = runner.predict(prepared.dataset, windows: [window])
        let perStep = header.network.outputsPerStep
        let calibration = header.calibration
        return (0..<header.horizon).map { step in
            Point(
                timestamp: extended.timestamps[window + step],
                values: (0..<perStep).map { column in
                    prepared.scaler.unscale(outputs[step * perStep + column], column: prepared.targetFeatureIndex)
                        + (calibration?[step][column] ?? 0)
                })
        }
    }
}
