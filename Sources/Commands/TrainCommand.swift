import Forecasting
import Foundation

enum TrainCommand: Subcommand {
    static let name = "train"
    static let summary = "train an LSTM forecaster on a CSV and report test metrics"
    static let usage = """
        Usage: forescale train --data F.csv [options] [--out model.fsm]

          --target-column C   column to forecast (default cpu_utilization, or value)
          --inputs a,b        covariate columns beside the target (a policy's spec.metrics.inputs);
                              default: the prototype's columns when the file has all four
          --features basic|advanced|calendar
                              basic: the prototype's four columns (univariate: the target alone);
                              advanced: + clock, rolling statistics, sin/cos of day and week;
                              calendar: advanced + events (needs --calendar events.json)
          --calendar F.json   business events [{"name","start","end","multiplier"?}]
          --seq-len 24 --hidden 128 --layers 3 --dropout 0.2 --head 64
          --lr 0.0005 --batch 64 --epochs 50 --horizon 1 --seed 42
          --quantiles 0.5,0.9 pinball loss on these quantiles (default: MSE point forecast)
          --threads N         data-parallel training threads (default: up to 2 cores)
          --level-normalization on|off  inputs and targets relative to each window's level —
                              its last value, or the mean of the last --level-span rows
                              (default on: follows a load that leaves the training range)
          --level-span N      rows averaged into a window's level (default 1: the last value)
          --weight-averaging D  keep an exponential moving average of the weights (decay D,
                              e.g. 0.999) and validate and save it (default 0: off)
          --attention         attention pooling over all steps (the prototype's "advanced" model)
          --select            also fit the classical forecasters (naive, seasonal naive, moving
                              averages, Theta, Holt-Winters, ETS, ARIMA) and combinations of the
                              best three, and serve the simplest whose error at the horizon's
                              last step on rolling origins of the validation part is within 2 %
                              of the best (needs --quantiles for its bands)
          --json              print the final report as JSON

        Prints per-epoch progress (loss, val loss, lr, seconds) and the test metrics of the
        chronological 70/15/15 split (early stopping on validation, metrics on test).
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let dataPath = try arguments.required("data")
        var configuration = try configurationOptions(&arguments)
        let featureName = try arguments.option("features") ?? "basic"
        guard let features = FeatureSet(rawValue: featureName) else {
            throw UsageError("--features: unknown set '\(featureName)'")
        }
        let targetOption = try arguments.option("target-column")
        let inputs = try arguments.option("inputs").map { $0.split(separator: ",").map(String.init) }
        let events = try ModelInput.events(&arguments, required: features == .calendar)
        // --quiet: no output at all (for callers that train in-process and print their own).
        let quiet = arguments.flag("quiet")
        let json = arguments.flag("json") || quiet
        configuration.attention = arguments.flag("attention")
        let workers = try arguments.option("threads", default: min(2, ProcessInfo.processInfo.activeProcessorCount))
        guard workers >= 1 && workers <= 64 else { throw UsageError("--threads must be between 1 and 64") }
        let select = arguments.flag("select")
        let out = try arguments.option("out")
        try arguments.finish()
        guard !select || !configuration.quantiles.isEmpty else {
            throw UsageError("--select calibrates the served forecaster's bands: it needs --quantiles")
        }
        guard configuration.sequenceLength > 0, configuration.hiddenSize > 0, configuration.layers > 0,
            configuration.batchSize > 0, configuration.epochs > 0, configuration.horizon > 0,
            configuration.dropout >= 0, configuration.dropout < 1, configuration.learningRate > 0
        else {
            throw UsageError("sizes, epochs and --lr must be positive and --dropout in [0, 1)")
        }

        let table = try loadTable(dataPath)
        let target = targetOption ?? (table.columns["cpu_utilization"] != nil ? "cpu_utilization" : "value")
        let present = FeatureBuilder.prototypeColumns.filter { table.columns[$0] != nil }
        if inputs == nil, !present.isEmpty, present.count < FeatureBuilder.prototypeColumns.count {
            let missing = FeatureBuilder.prototypeColumns.filter { table.columns[$0] == nil }
            printError(
                "warning: \(dataPath) lacks \(missing.joined(separator: ", ")): the prototype's inputs need all four, "
                    + "so this trains on '\(target)' alone"
            )
        }
        var recipe = TrainingRecipe(features: features, configuration: configuration, workers: workers, inputs: inputs)
        recipe.selectsModel = select
        if !json {
            print(
                "training on \(dataPath) (target \(target), features \(features.rawValue)); * marks an epoch with the "
                    + "best validation loss so far (its weights are kept)"
            )
        }
        let outcome = try train(
            table: table, target: target, recipe: recipe, events: events, dataPath: dataPath, printsProgress: !json)
        try report(outcome, out: out, json: json, quiet: quiet)
        return ExitCode.success
    }

    /// The network's options (sizes, rates, quantiles, level normalization), checked.
    static func configurationOptions(_ arguments: inout Arguments) throws -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.sequenceLength = try arguments.option("seq-len", default: configuration.sequenceLength)
        configuration.hiddenSize = try arguments.option("hidden", default: configuration.hiddenSize)
        configuration.layers = try arguments.option("layers", default: configuration.layers)
        configuration.dropout = try arguments.option("dropout", default: configuration.dropout)
        configuration.headSize = try arguments.option("head", default: configuration.headSize)
        configuration.learningRate = try arguments.option("lr", default: configuration.learningRate)
        configuration.batchSize = try arguments.option("batch", default: configuration.batchSize)
        configuration.epochs = try arguments.option("epochs", default: configuration.epochs)
        configuration.horizon = try arguments.option("horizon", default: configuration.horizon)
        configuration.seed = try arguments.option("seed", default: configuration.seed)
        if let quantiles = try arguments.option("quantiles") {
            let values = quantiles.split(separator: ",").compactMap { Float($0) }
            guard values.count == quantiles.split(separator: ",").count, values.allSatisfy({ $0 > 0 && $0 < 1 }) else {
                throw UsageError("--quantiles takes values in (0, 1) separated by commas")
            }
            configuration.quantiles = values
        }
        if let level = try arguments.option("level-normalization") {
            guard level == "on" || level == "off" else { throw UsageError("--level-normalization takes on or off") }
            configuration.levelNormalization = level == "on"
        }
        configuration.levelSpan = try arguments.option("level-span", default: configuration.levelSpan)
        configuration.weightAveraging = try arguments.option("weight-averaging", default: configuration.weightAveraging)
        guard (0..<1).contains(configuration.weightAveraging) else {
            throw UsageError("--weight-averaging must be in [0, 1)")
        }
        guard configuration.levelSpan >= 1 && configuration.levelSpan <= configuration.sequenceLength else {
            throw UsageError("--level-span must be between 1 and --seq-len")
        }
        return configuration
    }

    /// Writes the model and prints the report (synchronous, for the same reason as `train`).
    @inline(never)
    static func report(_ outcome: TrainingOutcome, out: String?, json: Bool, quiet: Bool) throws {
        let data = outcome.prepared.dataset
        if !json {
            print(
                "trained on \(data.train.count) windows (validation \(data.validation.count), test "
                    + "\(data.test.count)); features: \(outcome.prepared.featureNames.joined(separator: ", ")); "
                    + "\(outcome.artefact.parameters.count) parameters"
            )
        }
        if let out {
            try outcome.artefact.write(to: out)
            if !json { print("wrote \(out)") }
        }
        let metrics = outcome.metrics
        let baselines = outcome.baselines
        var report: [String: Any] = [
            "epochs": outcome.epochs, "train_seconds": outcome.seconds, "n": metrics.count,
            "r2": metrics.r2, "mae": metrics.mae, "rmse": metrics.rmse, "mape": metrics.mape,
            "accuracy": metrics.accuracy,
        ]
        report["baselines"] = baselines.mapValues { ["mae": $0.mae, "rmse": $0.rmse, "mape": $0.mape, "r2": $0.r2] }
        if let far = outcome.farEnd {
            report["at_horizon"] = [
                "step": far.step, "mae": far.metrics.mae, "r2": far.metrics.r2,
                "baselines": far.baselines.mapValues { ["mae": $0.mae, "r2": $0.r2] },
            ]
            if !json {
                print(
                    String(format: "at step %d: MAE %.3f  R² %.4f", far.step, far.metrics.mae, far.metrics.r2)
                        + far.baselines.sorted(by: { $0.key < $1.key }).map {
                            String(format: "  %@ %.3f", $0.key, $0.value.mae)
                        }.joined())
            }
        }
        if quiet {
            // Nothing.
        } else if json {
            printJSON(report)
        } else {
            for (name, baseline) in baselines.sorted(by: { $0.key < $1.key }) {
                print(String(format: "baseline %@: R² %.4f  MAE %.3f", name, baseline.r2, baseline.mae))
            }
            print(
                String(
                    format:
                        "test: R² %.4f  MAE %.3f  RMSE %.3f  MAPE %.2f%%  accuracy %.2f%%  (n=%d, %d epochs, %.0fs)",
                    metrics.r2, metrics.mae, metrics.rmse, metrics.mape,
                    metrics.accuracy, metrics.count, outcome.epochs, outcome.seconds))
        }
    }

    /// Training with per-epoch progress (synchronous: it runs on this thread). Not inlined:
    /// inlined into the async `run`, Swift 6.3's coroutine splitting crashes on it.
    @inline(never)
    static func train(
        table: TimeSeriesTable, target: String, recipe: TrainingRecipe, events: [CalendarEvent], dataPath: String,
        printsProgress: Bool
    ) throws -> TrainingOutcome {
        let started = ContinuousClock.now
        let epochs = recipe.configuration.epochs
        do {
            return try Training.run(
                table: table, targetColumn: target, recipe: recipe, events: events, createdAt: Date()
            ) { report in
                guard printsProgress else { return }
                let elapsed = (ContinuousClock.now - started).seconds
                let remaining = elapsed / Double(report.epoch) * Double(epochs - report.epoch)
                print(
                    String(
                        format: "epoch %3d/%d  loss %.5f  val %.5f  lr %.6f  %.2fs  elapsed %@  ETA ≤ %@%@",
                        report.epoch, epochs, report.trainLoss,
                        report.validationLoss, report.learningRate, report.seconds, duration(elapsed),
                        duration(remaining), report.isBest ? "  *" : ""))
            }
        } catch {
            throw InputFileError(path: dataPath, problem: error.description)
        }
    }

    /// "42s", "3m 05s", "1h 02m".
    static func duration(_ seconds: Double) -> String {
        let total = Int(max(0, min(seconds, 360_000)).rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm %02ds", total / 60, total % 60) }
        return String(format: "%dh %02dm", total / 3600, total % 3600 / 60)
    }
}
