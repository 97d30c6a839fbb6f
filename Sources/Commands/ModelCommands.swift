import Forecasting
import Foundation
import KubeCore
import PolicyEngine

/// A CSV on a regular grid of `step` seconds (default: its median interval), with a
/// file-naming error, and a note on standard error when rows or values had to be filled.
package func loadTable(_ path: String, step: Double? = nil) throws -> TimeSeriesTable {
    let table: TimeSeriesTable
    do { table = try TimeSeriesTable.load(path: path, step: step) } catch {
        throw InputFileError(path: path, problem: error.problem + (error.line > 0 ? " (line \(error.line))" : ""))
    }
    if let note = table.regularity?.note { printError("note: \(path): \(note)") }
    return table
}

/// Loading shared by `evaluate` and `predict`: model and data, with file-naming errors.
enum ModelInput {
    static func load(modelPath: String, dataPath: String) throws -> (ModelArtefact, TimeSeriesTable) {
        let artefact: ModelArtefact
        do { artefact = try ModelArtefact.load(path: modelPath) } catch {
            throw InputFileError(
                path: modelPath, problem: error.description.replacingOccurrences(of: "\(modelPath): ", with: ""))
        }
        // On the model's grid: a row is a step to it.
        let table = try loadTable(dataPath, step: artefact.header.stepSeconds)
        return (artefact, table)
    }

    /// `--model`, `--data` and `--json`, then the loaded model and data.
    static func parse(_ arguments: inout Arguments) throws -> (
        artefact: ModelArtefact, table: TimeSeriesTable, dataPath: String, json: Bool, events: [CalendarEvent]
    ) {
        let modelPath = try arguments.required("model")
        let dataPath = try arguments.required("data")
        let json = arguments.flag("json")
        let (artefact, table) = try load(modelPath: modelPath, dataPath: dataPath)
        let events = try Self.events(&arguments, required: artefact.header.featureSet == FeatureSet.calendar.rawValue)
        try arguments.finish()
        return (artefact, table, dataPath, json, events)
    }

    static func prepare(
        _ artefact: ModelArtefact, _ table: TimeSeriesTable, dataPath: String, minimumRows: Int? = nil,
        events: [CalendarEvent]
    ) throws -> PreparedData {
        do { return try Forecaster(artefact).prepare(table, minimumRows: minimumRows, events: events) } catch {
            throw InputFileError(path: dataPath, problem: error.description)
        }
    }

    /// `--calendar events.json`, required by models trained with the calendar feature set.
    static func events(_ arguments: inout Arguments, required: Bool) throws -> [CalendarEvent] {
        guard let path = try arguments.option("calendar") else {
            if required { throw UsageError("this model uses calendar features: pass --calendar events.json") }
            return []
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputFileError(path: path, problem: "cannot read the file")
        }
        do { return try BusinessCalendar.parse(data) } catch {
            throw InputFileError(path: path, problem: error.description)
        }
    }
}

enum EvaluateCommand: Subcommand {
    static let name = "evaluate"
    static let summary = "score a model and the baselines on a CSV's test split"
    static let usage = """
        Usage: forescale evaluate --model M.fsm --data F.csv [--calendar events.json] [--step N] [--json]

        Metrics of the first horizon step (the median quantile, if any) on the chronological
        test split (last 15%), with naive, seasonal-naive and Holt-Winters baselines on the
        same windows. accuracy = 100 − MAPE; MAPE skips zero actuals (reported). A quantile
        model's coverage — the share of test outcomes at or below each quantile's forecast,
        with its split-conformal offsets — at the first and last horizon step. "served" is what
        the artefact serves (its LSTM, or the classical forecaster that won its selection),
        forecasting from each test origin with only the rows before it, as the controller does,
        at --step (default 1), beside every classical forecaster fitted on the rows before the
        first origin and forecasting from the same origins.
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let step = try arguments.option("step", default: 1)
        let (artefact, table, dataPath, json, events) = try ModelInput.parse(&arguments)
        guard step >= 1 && step <= artefact.header.horizon else {
            throw UsageError("--step must be between 1 and the model's horizon (\(artefact.header.horizon))")
        }
        let prepared = try ModelInput.prepare(artefact, table, dataPath: dataPath, events: events)
        let trainer = NetworkFit(restoring: artefact)
        let metrics = Training.testMetrics(trainer: trainer, prepared: prepared)
        let baselines = Training.baselineMetrics(prepared: prepared, table: table)
        // What the artefact serves (its LSTM, or its selection's classical winner), forecasting
        // from each test origin as the controller does.
        let servedQuantile = artefact.header.selection?.quantile ?? Float(PolicySpec.defaultQuantile)
        let served = Forecaster(artefact).holdoutScore(
            table, events: events, step: step, quantile: servedQuantile, baselines: true)
        // Coverage: the share of test outcomes at or below each quantile's forecast (with the
        // model's split-conformal offsets), at the first and the last horizon step.
        let coverage = Training.coverage(
            trainer: trainer, prepared: prepared, calibration: artefact.header.calibration ?? [],
            windows: prepared.dataset.test)
        if json {
            printJSON(
                report(
                    metrics, baselines: baselines, served: served, servedQuantile: servedQuantile, step: step,
                    coverage: coverage, header: artefact.header))
        } else {
            printText(
                metrics, baselines: baselines, served: served, servedQuantile: servedQuantile, step: step,
                coverage: coverage, header: artefact.header)
        }
        return ExitCode.success
    }

    static func describe(_ m: ForecastMetrics) -> [String: Any] {
        [
            "r2": m.r2, "mae": m.mae, "rmse": m.rmse, "mape": m.mape, "accuracy": m.accuracy, "n": m.count,
            "mape_skipped_zeros": m.mapeSkippedZeros,
        ]
    }

    /// Coverage cells (name, share) of each quantile at the first and the last horizon step.
    static func coverageSteps(_ coverage: [Float], header: ModelHeader) -> [(step: Int, cells: [(String, Double)])] {
        let quantiles = header.quantiles
        return [(0, 1), (1, header.horizon)].map { part, step in
            (
                step,
                quantiles.enumerated().map {
                    (String(format: "p%.0f", $0.element * 100), Double(coverage[part * quantiles.count + $0.offset]))
                }
            )
        }
    }

    static func report(
        _ metrics: ForecastMetrics, baselines: [String: ForecastMetrics], served: Forecaster.HoldoutScore?,
        servedQuantile: Float, step: Int, coverage: [Float]?, header: ModelHeader
    ) -> [String: Any] {
        var report = describe(metrics)
        report["baselines"] = baselines.mapValues(describe)
        if let served {
            var object = describe(served.metrics)
            object["kind"] = served.served
            object["pinball"] = served.pinball
            object["coverage"] = served.coverage
            object["band_width"] = served.bandWidth
            object["quantile"] = Double(servedQuantile)
            object["step"] = step
            object["origins"] = served.origins
            object["baselines"] = served.baselines.mapValues(describe)
            if let best = served.baselines.min(by: { $0.value.mae < $1.value.mae }), best.value.mae > 0 {
                object["best_baseline"] = best.key
                object["ratio_to_best_baseline"] = served.metrics.mae / best.value.mae
            }
            report["served"] = object
        }
        if let coverage {
            report["coverage"] = Dictionary(
                uniqueKeysWithValues: coverageSteps(coverage, header: header).map {
                    ("step_\($0.step)", Dictionary(uniqueKeysWithValues: $0.cells))
                })
            report["calibrated"] = header.calibration != nil
        }
        return report
    }

    static func printText(
        _ metrics: ForecastMetrics, baselines: [String: ForecastMetrics], served: Forecaster.HoldoutScore?,
        servedQuantile: Float, step: Int, coverage: [Float]?, header: ModelHeader
    ) {
        print(
            String(
                format: "model: R² %.4f  MAE %.3f  RMSE %.3f  MAPE %.2f%%  accuracy %.2f%%  (n=%d)", metrics.r2,
                metrics.mae, metrics.rmse, metrics.mape, metrics.accuracy, metrics.count))
        if let served {
            print(
                String(
                    format:
                        "served (%@) at step %d: MAE %.3f  p%.0f pinball %.3f  coverage %.1f%%  band %.3f above the "
                        + "median  over %d origins",
                    served.served, step, served.metrics.mae, servedQuantile * 100, served.pinball,
                    served.coverage * 100, served.bandWidth, served.origins))
            print(
                "  baselines on the same origins: "
                    + served.baselines.sorted { $0.value.mae < $1.value.mae }.map {
                        String(format: "%@ %.3f", $0.key, $0.value.mae)
                    }.joined(separator: "  "))
        }
        for (name, baseline) in baselines.sorted(by: { $0.key < $1.key }) {
            print(
                String(
                    format: "%@: R² %.4f  MAE %.3f  RMSE %.3f  MAPE %.2f%%", name, baseline.r2, baseline.mae,
                    baseline.rmse, baseline.mape))
        }
        guard let coverage else { return }
        for (step, cells) in coverageSteps(coverage, header: header) {
            print(
                "coverage at step \(step)\(header.calibration == nil ? " (uncalibrated model)" : ""): "
                    + cells.map { String(format: "%@ %.1f%%", $0.0, $0.1 * 100) }.joined(separator: "  "))
        }
    }
}

enum PredictCommand: Subcommand {
    static let name = "predict"
    static let summary = "forecast the next horizon steps after a CSV's last row"
    static let usage = """
        Usage: forescale predict --model M.fsm --data F.csv [--calendar events.json] [--json]

        Uses the last sequence-length rows of the data; prints one line (or JSON object) per
        horizon step with its timestamp and the point forecast or each quantile.
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let (artefact, table, dataPath, json, events) = try ModelInput.parse(&arguments)
        let header = artefact.header
        guard table.count >= header.sequenceLength else {
            throw InputFileError(
                path: dataPath,
                problem: "needs at least \(header.sequenceLength) rows for this model, has \(table.count)")
        }
        let steps: [Forecaster.Point]
        do { steps = try Forecaster(artefact).forecast(table, events: events) } catch {
            throw InputFileError(path: dataPath, problem: error.description)
        }
        var rows: [[String: Any]] = []
        for (index, step) in steps.enumerated() {
            var row: [String: Any] = ["step": index + 1, "timestamp": Timestamps.format(step.timestamp)]
            if header.quantiles.isEmpty {
                row["value"] = Double(step.values[0])
            } else {
                row["quantiles"] = Dictionary(
                    uniqueKeysWithValues: zip(
                        header.quantiles.map { String(format: "p%.0f", $0 * 100) }, step.values.map(Double.init)))
            }
            rows.append(row)
        }
        if json {
            // As the Forecaster decides: the selection's classical winner when the data reach back far enough.
            let statistical = header.selection?.statistical
            let served =
                statistical.map { table.count >= $0.historyLength } == true ? header.selection!.served : "lstm"
            printJSON(["target": header.targetColumn, "served": served, "forecast": rows])
        } else {
            for row in rows {
                // Quantiles in ascending order, rounded: p50=412.300 p90=455.100.
                let quantiles = (row["quantiles"] as? [String: Double] ?? [:]).sorted {
                    Self.level($0.key) < Self.level($1.key)
                }
                let value =
                    row["value"].map { String(format: "%.3f", $0 as! Double) }
                    ?? quantiles.map { String(format: "%@=%.3f", $0.key, $0.value) }.joined(separator: " ")
                print("\(row["timestamp"]!)  step \(row["step"]!)  \(header.targetColumn) \(value)")
            }
        }
        return ExitCode.success
    }

    /// "p90" → 90.
    static func level(_ name: String) -> Double { Double(name.dropFirst()) ?? 0 }
}
