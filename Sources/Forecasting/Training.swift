import Foundation

/// A complete training recipe: the feature set, the network and optimiser settings, and
/// the threads to use. `forescale train` builds one from its options; the demo, the
/// backtest and the trainer Job use `controller(…)`.
public struct TrainingRecipe: Sendable, Equatable {
    public var features: FeatureSet
    public var configuration: TrainingConfiguration
    public var workers: Int
    /// Covariates beside the target, by column name (nil: the prototype's rule).
    public var inputs: [String]?
    /// Fit the classical candidates too and serve whichever forecasts best (`ModelSelection`),
    /// judged by the error at `actingStep` (1-based; nil: the horizon's last step).
    public var selectsModel = false
    public var selectionQuantile: Float = 0.8
    public var actingStep: Int?

    public init(
        features: FeatureSet, configuration: TrainingConfiguration,
        workers: Int = min(2, ProcessInfo.processInfo.activeProcessorCount), inputs: [String]? = nil
    ) {
        self.features = features
        self.configuration = configuration
        self.workers = workers
        self.inputs = inputs
    }

    /// The recipe of the models the controller serves (see Models/README.md): one 32-unit
    /// LSTM layer, p50, the policy's decision quantile (so its band is calibrated where it is
    /// read, not interpolated) and p90, a horizon covering the lead time, calendar features when
    /// the policy has a calendar (else the advanced set), 25 epochs.
    public static func controller(
        horizon: Int, actingStep: Int? = nil, quantile: Float = 0.8, hasCalendar: Bool, inputs: [String] = [],
        hidden: Int = 32, epochs: Int = 25, wallTimeLimit: Duration? = nil
    )
        -> TrainingRecipe
    {
        var configuration = TrainingConfiguration()
        configuration.horizon = horizon
        configuration.quantiles = Array(Set([0.5, quantile, 0.9])).sorted()
        configuration.hiddenSize = hidden
        configuration.layers = 1
        configuration.headSize = hidden
        configuration.epochs = epochs
        configuration.wallTimeLimit = wallTimeLimit
        var recipe = TrainingRecipe(
            features: hasCalendar ? .calendar : .advanced, configuration: configuration,
            inputs: inputs.isEmpty ? nil : inputs)
        recipe.selectsModel = true
        recipe.actingStep = actingStep
        return recipe
    }
}

/// A trained model and what was measured on the way.
public struct TrainingOutcome: Sendable {
    public var artefact: ModelArtefact
    public var epochs: Int
    public var seconds: Double
    /// Test-split metrics of the first horizon step, and the baselines on the same windows.
    public var metrics: ForecastMetrics
    public var baselines: [String: ForecastMetrics]
    /// The same at the far end of the horizon (horizon > 1 only).
    public var farEnd: (step: Int, metrics: ForecastMetrics, baselines: [String: ForecastMetrics])?
    /// The features and windows it was trained and tested on.
    public var prepared: PreparedData
}

public enum Training {
    /// Trains `recipe` on `table` (chronological 70/15/15 split, scaler fit on the training
    /// rows, early stopping on validation) and returns the artefact, stamped `createdAt`.
    public static func run(
        table samples: TimeSeriesTable, targetColumn: String, recipe: TrainingRecipe, events: [CalendarEvent] = [],
        createdAt: Date,
        progress: (EpochReport) -> Void = { _ in }
    ) throws(FeatureBuilder.FeatureError) -> TrainingOutcome {
        // Rows are steps to every model here: a table with gaps is put on its grid first (a
        // regular one is used as it is).
        let table: TimeSeriesTable
        do { (table, _) = try samples.regularized(path: "the training data") } catch {
            throw .irregular(error.description)
        }
        let configuration = recipe.configuration
        let prepared = try FeatureBuilder.prepare(
            table, targetColumn: targetColumn, features: recipe.features, configuration: configuration, events: events,
            inputs: recipe.inputs)
        var trainer = NetworkFit(configuration: configuration, inputSize: prepared.featureNames.count)
        let started = ContinuousClock.now
        let (epochs, _) = trainer.train(prepared.dataset, workers: recipe.workers, progress: progress)
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        let metrics = testMetrics(trainer: trainer, prepared: prepared)
        let baselines = baselineMetrics(prepared: prepared, table: table)
        var header = ModelHeader(
            network: trainer.network.configuration, featureSet: recipe.features.rawValue,
            featureNames: prepared.featureNames,
            targetColumn: targetColumn, scaler: prepared.scaler, sequenceLength: configuration.sequenceLength,
            stepSeconds: table.timestamps[1].timeIntervalSince(table.timestamps[0]),
            trainingStart: table.timestamps[0], trainingEnd: table.timestamps[table.count - 1],
            testMetrics: metrics, baselineMetrics: baselines, createdAt: createdAt,
            parameterCount: trainer.parameters.count,
            levelNormalization: configuration.levelNormalization, levelSpan: configuration.levelSpan)
        header.inputColumns = recipe.inputs
        if recipe.selectsModel, !configuration.quantiles.isEmpty, let series = table.columns[targetColumn] {
            let windows = prepared.dataset.validation
            let (forecasts, _) = forecastsAndActuals(trainer: trainer, prepared: prepared, windows: windows)
            let step = table.timestamps[1].timeIntervalSince(table.timestamps[0])
            header.selection = ModelSelection.select(
                series: series.map(Double.init), fitEnd: windows.first ?? series.count,
                refitEnd: prepared.dataset.test.first, origins: windows,
                season: Conformal.season(stepSeconds: step), quantiles: configuration.quantiles,
                horizon: configuration.horizon, actingStep: recipe.actingStep, quantile: recipe.selectionQuantile,
                lstmForecasts: Dictionary(uniqueKeysWithValues: zip(windows, forecasts)))
        }
        if !configuration.quantiles.isEmpty {
            header.calibration = calibrationOffsets(trainer: trainer, prepared: prepared)
            header.testCoverage = coverage(
                trainer: trainer, prepared: prepared, calibration: header.calibration ?? [],
                windows: prepared.dataset.test)
        }
        var farEnd: (Int, ForecastMetrics, [String: ForecastMetrics])?
        if configuration.horizon > 1 {
            // The controller acts on the whole horizon: its far end is measured as well.
            farEnd = (
                configuration.horizon, testMetrics(trainer: trainer, prepared: prepared, step: configuration.horizon),
                baselineMetrics(prepared: prepared, table: table, step: configuration.horizon)
            )
        }
        return TrainingOutcome(
            artefact: ModelArtefact(header: header, parameters: trainer.parameters), epochs: epochs, seconds: seconds,
            metrics: metrics, baselines: baselines, farEnd: farEnd, prepared: prepared)
    }

    /// Forecasts (per window: horizon × quantiles, in the target's units) and actuals
    /// (per window: horizon) of `windows`.
    static func forecastsAndActuals(trainer: NetworkFit, prepared: PreparedData, windows: [Int]) -> (
        [[Float]], [[Float]]
    ) {
        let data = prepared.dataset
        let outputs = trainer.predict(data, windows: windows)
        let perWindow = trainer.network.configuration.outputCount
        let column = prepared.targetFeatureIndex
        let forecasts = windows.indices.map { index in
            (0..<perWindow).map { prepared.scaler.unscale(outputs[index * perWindow + $0], column: column) }
        }
        let actuals = windows.map { window in
            (0..<data.horizon).map { prepared.scaler.unscale(data.targets[window + $0], column: column) }
        }
        return (forecasts, actuals)
    }

    /// Split conformal (one-sided, per quantile and step): the offset c with a share q of the
    /// validation residuals (actual − forecast) at or below it — the ⌈(n + 1)·q⌉-th smallest —
    /// so that forecast + c covers the next outcome with probability q. No validation
    /// windows: no offsets.
    public static func calibrationOffsets(trainer: NetworkFit, prepared: PreparedData) -> [[Float]]? {
        let windows = prepared.dataset.validation
        let quantiles = trainer.configuration.quantiles
        guard windows.count >= 10, !quantiles.isEmpty else { return nil }
        let (forecasts, actuals) = forecastsAndActuals(trainer: trainer, prepared: prepared, windows: windows)
        let horizon = prepared.dataset.horizon
        return (0..<horizon).map { step in
            quantiles.enumerated().map { column, level in
                let residuals = zip(forecasts, actuals).map { $1[step] - $0[step * quantiles.count + column] }.sorted()
                return Conformal.offset(sorted: residuals, level: Double(level))!
            }
        }
    }

    /// The share of `windows`' outcomes at or below each calibrated quantile forecast, at the
    /// first and the last horizon step (quantile order, first step's then last step's).
    public static func coverage(trainer: NetworkFit, prepared: PreparedData, calibration: [[Float]], windows: [Int])
        -> [Float]?
    {
        let quantiles = trainer.configuration.quantiles
        guard !windows.isEmpty, !quantiles.isEmpty else { return nil }
        let (forecasts, actuals) = forecastsAndActuals(trainer: trainer, prepared: prepared, windows: windows)
        let horizon = prepared.dataset.horizon
        return [0, horizon - 1].flatMap { step in
            quantiles.indices.map { column in
                let offset = calibration.isEmpty ? 0 : calibration[step][column]
                let covered = zip(forecasts, actuals).filter {
                    $1[step] <= $0[step * quantiles.count + column] + offset
                }
                return Float(covered.count) / Float(windows.count)
            }
        }
    }

    /// Baselines on the same test windows and step, in the target's own units.
    public static func baselineMetrics(prepared: PreparedData, table: TimeSeriesTable, step horizonStep: Int = 1)
        -> [String: ForecastMetrics]
    {
        let data = prepared.dataset
        let series = table.columns[prepared.targetColumn]!
        let step = table.timestamps[1].timeIntervalSince(table.timestamps[0])
        let season = Conformal.season(stepSeconds: step)
        let actual = data.test.map { series[$0 + horizonStep - 1] }
        let fitEnd = data.validation.first ?? data.test.first ?? series.count
        var result: [String: ForecastMetrics] = [:]
        for baseline in Baseline.allCases {
            let predicted = baseline.predict(
                series: series, windows: data.test, step: horizonStep, season: season, fitEnd: fitEnd)
            result[baseline.rawValue] = ForecastMetrics(actual: actual, predicted: predicted)
        }
        return result
    }

    /// Metrics of one horizon step (the median quantile if any) on the test split, in the
    /// target's own units.
    public static func testMetrics(trainer: NetworkFit, prepared: PreparedData, step horizonStep: Int = 1)
        -> ForecastMetrics
    {
        let data = prepared.dataset
        let outputs = trainer.predict(data, windows: data.test)
        let perWindow = trainer.network.configuration.outputCount
        let quantiles = trainer.configuration.quantiles
        let column = Conformal.nearest(0.5, in: quantiles)
        var actual: [Float] = []
        var predicted: [Float] = []
        for (index, window) in data.test.enumerated() {
            let offset = (horizonStep - 1) * max(1, quantiles.count) + column
            predicted.append(
                prepared.scaler.unscale(outputs[index * perWindow + offset], column: prepared.targetFeatureIndex))
            actual.append(
                prepared.scaler.unscale(data.targets[window + horizonStep - 1], column: prepared.targetFeatureIndex))
        }
        return ForecastMetrics(actual: actual, predicted: predicted)
    }
}
