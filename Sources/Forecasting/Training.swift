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
    /// LSTM layer, p50/p90, a horizon covering the lead time, calendar features when the
    /// policy has a calendar (else the advanced set), 25 epochs.
    public static func controller(
        horizon: Int, hasCalendar: Bool, inputs: [String] = [], hidden: Int = 32, epochs: Int = 25
    )
        -> TrainingRecipe
    {
        var configuration = TrainingConfiguration()
        configuration.horizon = horizon
        configuration.quantiles = [0.5, 0.9]
        configuration.hiddenSize = hidden
        configuration.layers = 1
        configuration.headSize = hidden
        configuration.epochs = epochs
        return TrainingRecipe(
            features: hasCalendar ? .calendar : .advanced, configuration: configuration,
            inputs: inputs.isEmpty ? nil : inputs)
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
        table: TimeSeriesTable, targetColumn: String, recipe: TrainingRecipe, events: [CalendarEvent] = [],
        createdAt: Date,
        progress: (EpochReport) -> Void = { _ in }
    ) throws(FeatureBuilder.FeatureError) -> TrainingOutcome {
        let configuration = recipe.configuration
        let prepared = try FeatureBuilder.prepare(
            table, targetColumn: targetColumn, features: recipe.features, configuration: configuration, events: events,
            inputs: recipe.inputs)
        var trainer = Trainer(configuration: configuration, inputSize: prepared.featureNames.count)
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

    /// Baselines on the same test windows and step, in the target's own units.
    public static func baselineMetrics(prepared: PreparedData, table: TimeSeriesTable, step horizonStep: Int = 1)
        -> [String: ForecastMetrics]
    {
        let data = prepared.dataset
        let series = table.columns[prepared.targetColumn]!
        let step = table.timestamps[1].timeIntervalSince(table.timestamps[0])
        let season = max(1, Int((86_400 / step).rounded()))
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
    public static func testMetrics(trainer: Trainer, prepared: PreparedData, step horizonStep: Int = 1)
        -> ForecastMetrics
    {
        let data = prepared.dataset
        let outputs = trainer.predict(data, windows: data.test)
        let perWindow = trainer.network.configuration.outputCount
        let quantiles = trainer.configuration.quantiles
        let column =
            quantiles.isEmpty
            ? 0 : (quantiles.enumerated().min { abs($0.element - 0.5) < abs($1.element - 0.5) }?.offset ?? 0)
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
