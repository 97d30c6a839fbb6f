import Forecasting
import Foundation

enum TrainCommand: Subcommand {
    static let name = "train"
    static let summary = "train an LSTM forecaster on a CSV and report test metrics"
    static let usage = """
    Usage: forescale train --data F.csv [options] [--out model.fsm]

      --target-column C   column to forecast (default cpu_utilization, or value)
      --features basic|advanced|calendar
                          basic: the prototype's four columns (univariate: the target alone);
                          advanced: + clock, rolling statistics, sin/cos of day and week;
                          calendar: advanced + events (needs --calendar events.json)
      --calendar F.json   business events [{"name","start","end","multiplier"?}]
      --seq-len 24 --hidden 128 --layers 3 --dropout 0.2 --head 64
      --lr 0.0005 --batch 64 --epochs 50 --horizon 1 --seed 42
      --quantiles 0.5,0.9 pinball loss on these quantiles (default: MSE point forecast)
      --threads N         data-parallel training threads (default: up to 2 cores)
      --level-normalization on|off  inputs and targets relative to each window's mean
                          (default on: follows a load that leaves the training range)
      --level-span N      rows averaged into a window's level (default 1: the last value)
      --weight-averaging D  keep an exponential moving average of the weights (decay D,
                          e.g. 0.999) and validate and save it (default 0: off)
      --attention         attention pooling over all steps (the prototype's "advanced" model)
      --json              print the final report as JSON

    Prints per-epoch progress (loss, val loss, lr, seconds) and the test metrics of the
    chronological 70/15/15 split (early stopping on validation, metrics on test).
    """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let dataPath = try arguments.required("data")
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
        guard (0..<1).contains(configuration.weightAveraging) else { throw UsageError("--weight-averaging must be in [0, 1)") }
        guard configuration.levelSpan >= 1 && configuration.levelSpan <= configuration.sequenceLength else {
            throw UsageError("--level-span must be between 1 and --seq-len")
        }
        let featureName = try arguments.option("features") ?? "basic"
        guard let features = FeatureSet(rawValue: featureName) else { throw UsageError("--features: unknown set '\(featureName)'") }
        let targetOption = try arguments.option("target-column")
        let events = try ModelInput.events(&arguments, required: features == .calendar)
        // --quiet: no output at all (for callers that train in-process and print their own).
        let quiet = arguments.flag("quiet")
        let json = arguments.flag("json") || quiet
        configuration.attention = arguments.flag("attention")
        let workers = try arguments.option("threads", default: min(2, ProcessInfo.processInfo.activeProcessorCount))
        guard workers >= 1 && workers <= 64 else { throw UsageError("--threads must be between 1 and 64") }
        let out = try arguments.option("out")
        try arguments.finish()
        guard configuration.sequenceLength > 0, configuration.hiddenSize > 0, configuration.layers > 0,
              configuration.batchSize > 0, configuration.epochs > 0, configuration.horizon > 0,
              configuration.dropout >= 0, configuration.dropout < 1, configuration.learningRate > 0 else {
            throw UsageError("sizes, epochs and --lr must be positive and --dropout in [0, 1)")
        }

        let table: TimeSeriesTable
        do { table = try TimeSeriesTable.load(path: dataPath) } catch { throw InputFileError(path: dataPath, problem: error.problem + (error.line > 0 ? " (line \(error.line))" : "")) }
        let target = targetOption ?? (table.columns["cpu_utilization"] != nil ? "cpu_utilization" : "value")
        let prepared: PreparedData
        do { prepared = try FeatureBuilder.prepare(table, targetColumn: target, features: features, configuration: configuration, events: events) } catch { throw InputFileError(path: dataPath, problem: error.description) }

        var trainer = Trainer(configuration: configuration, inputSize: prepared.featureNames.count)
        let data = prepared.dataset
        if !json {
            print("training on \(data.train.count) windows (validation \(data.validation.count), test \(data.test.count)); features: \(prepared.featureNames.joined(separator: ", ")); \(trainer.network.parameterCount) parameters")
        }
        let started = ContinuousClock.now
        let (epochs, _) = trainer.train(data, workers: workers) { report in
            if !json {
                print(String(format: "epoch %3d  loss %.5f  val %.5f  lr %.6f  %.2fs%@", report.epoch, report.trainLoss, report.validationLoss, report.learningRate, report.seconds, report.isBest ? "  *" : ""))
            }
        }
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        let metrics = testMetrics(trainer: trainer, prepared: prepared)
        let baselines = baselineMetrics(prepared: prepared, table: table)
        if let out {
            let header = ModelHeader(
                network: trainer.network.configuration, featureSet: features.rawValue, featureNames: prepared.featureNames,
                targetColumn: target, scaler: prepared.scaler, sequenceLength: configuration.sequenceLength,
                stepSeconds: table.timestamps[1].timeIntervalSince(table.timestamps[0]),
                trainingStart: table.timestamps[0], trainingEnd: table.timestamps[table.count - 1],
                testMetrics: metrics, baselineMetrics: baselines, createdAt: Date(), parameterCount: trainer.parameters.count,
                levelNormalization: configuration.levelNormalization, levelSpan: configuration.levelSpan)
            try ModelArtefact(header: header, parameters: trainer.parameters).write(to: out)
            if !json { print("wrote \(out)") }
        }
        var report: [String: Any] = [
            "epochs": epochs, "train_seconds": seconds, "n": metrics.count,
            "r2": metrics.r2, "mae": metrics.mae, "rmse": metrics.rmse, "mape": metrics.mape, "accuracy": metrics.accuracy,
        ]
        report["baselines"] = baselines.mapValues { ["mae": $0.mae, "rmse": $0.rmse, "mape": $0.mape, "r2": $0.r2] }
        if configuration.horizon > 1 {
            // The controller acts on the whole horizon: report its far end as well.
            let far = testMetrics(trainer: trainer, prepared: prepared, step: configuration.horizon)
            let farBaselines = baselineMetrics(prepared: prepared, table: table, step: configuration.horizon)
            report["at_horizon"] = ["step": configuration.horizon, "mae": far.mae, "r2": far.r2,
                                    "baselines": farBaselines.mapValues { ["mae": $0.mae, "r2": $0.r2] }]
            if !json {
                print(String(format: "at step %d: MAE %.3f  R² %.4f", configuration.horizon, far.mae, far.r2)
                      + farBaselines.sorted(by: { $0.key < $1.key }).map { String(format: "  %@ %.3f", $0.key, $0.value.mae) }.joined())
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
            print(String(format: "test: R² %.4f  MAE %.3f  RMSE %.3f  MAPE %.2f%%  accuracy %.2f%%  (n=%d, %d epochs, %.0fs)", metrics.r2, metrics.mae, metrics.rmse, metrics.mape, metrics.accuracy, metrics.count, epochs, seconds))
        }
        return ExitCode.success
    }

    /// Baselines on the same test windows and step, in the target's own units.
    static func baselineMetrics(prepared: PreparedData, table: TimeSeriesTable, step horizonStep: Int = 1) -> [String: ForecastMetrics] {
        let data = prepared.dataset
        let series = table.columns[prepared.targetColumn]!
        let step = table.timestamps[1].timeIntervalSince(table.timestamps[0])
        let season = max(1, Int((86_400 / step).rounded()))
        let actual = data.test.map { series[$0 + horizonStep - 1] }
        let fitEnd = data.validation.first ?? data.test.first ?? series.count
        var result: [String: ForecastMetrics] = [:]
        for baseline in Baseline.allCases {
            let predicted = baseline.predict(series: series, windows: data.test, step: horizonStep, season: season, fitEnd: fitEnd)
            result[baseline.rawValue] = ForecastMetrics(actual: actual, predicted: predicted)
        }
        return result
    }

    /// Metrics of the first horizon step (median quantile if any) on the test split, in
    /// the target's own units.
    static func testMetrics(trainer: Trainer, prepared: PreparedData, step horizonStep: Int = 1) -> ForecastMetrics {
        let data = prepared.dataset
        let outputs = trainer.predict(data, windows: data.test)
        let perWindow = trainer.network.configuration.outputCount
        let quantiles = trainer.configuration.quantiles
        let column = quantiles.isEmpty ? 0 : (quantiles.enumerated().min { abs($0.element - 0.5) < abs($1.element - 0.5) }?.offset ?? 0)
        var actual: [Float] = [], predicted: [Float] = []
        for (index, window) in data.test.enumerated() {
            let offset = (horizonStep - 1) * max(1, quantiles.count) + column
            predicted.append(prepared.scaler.unscale(outputs[index * perWindow + offset], column: prepared.targetFeatureIndex))
            actual.append(prepared.scaler.unscale(data.targets[window + horizonStep - 1], column: prepared.targetFeatureIndex))
        }
        return ForecastMetrics(actual: actual, predicted: predicted)
    }
}
