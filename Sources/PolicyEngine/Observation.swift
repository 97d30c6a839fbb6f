import Forecasting
import Foundation

/// One capacity-independent load sample (e.g. average CPU% × in-service instances), with
/// the policy's covariates at the same time (`spec.metrics.inputs`, in order).
public struct LoadSample: Sendable, Equatable {
    public var time: Date
    public var load: Double
    public var inputs: [Double]

    public init(time: Date, load: Double, inputs: [Double] = []) {
        self.time = time
        self.load = load
        self.inputs = inputs
    }
}

/// Why the metrics source gave no usable history (CamelCase reason, message for people).
public struct MetricsProblem: Sendable, Equatable, Error {
    public var reason: MetricsProblemReason
    public var message: String
    /// A person must fix it (a bad query, an ambiguous result), not wait it out.
    public var needsAttention: Bool

    public init(reason: MetricsProblemReason, message: String, needsAttention: Bool) {
        self.reason = reason
        self.message = message
        self.needsAttention = needsAttention
    }
}

/// A target's capacity: what it is set to, and how much of it is in service (warm).
public struct CapacityState: Sendable, Equatable {
    public var desired: Int
    public var inService: Int

    public init(desired: Int, inService: Int) {
        self.desired = desired
        self.inService = inService
    }

    /// Capacities read from a target (a group, a /scale, a simulator) are outside input too.
    public static let plausible = 0...1_000_000
    public var isPlausible: Bool { Self.plausible.contains(desired) && Self.plausible.contains(inService) }
}

/// A model as the controller found it.
public enum ModelObservation: Sendable {
    /// `spec.model.artefact` is not set.
    case notConfigured
    /// Set, but it could not be loaded.
    case unavailable(ModelProblem, message: String)
    case loaded(LoadedModel)
}

public struct LoadedModel: Sendable {
    public var forecaster: Forecaster
    /// The first 12 hex digits of the artefact's SHA-256.
    public var version: String
    public var loadedAt: Date
    public var artefact: String

    public init(forecaster: Forecaster, version: String, loadedAt: Date, artefact: String) {
        self.forecaster = forecaster
        self.version = version
        self.loadedAt = loadedAt
        self.artefact = artefact
    }
}

/// Why a policy that forecasts is not using its model (CamelCase, for conditions and Events).
public enum ModelProblem: String, Sendable, Equatable, CaseIterable {
    case noModel = "NoModel"
    case missing = "ModelMissing"
    case corrupt = "ModelCorrupt"
    case unsupported = "ModelUnsupported"
    case stale = "ModelStale"
    case failsAccuracyGate = "ModelFailsAccuracyGate"
    case forecastFailed = "ForecastFailed"
    case noForecast = "NoForecast"
    /// The model reads covariates the policy does not provide.
    case inputsMissing = "ModelInputsMissing"
}

/// The business calendar as the controller found it.
public enum CalendarObservation: Sendable, Equatable {
    case notConfigured
    case events([CalendarEvent])
    /// The ConfigMap, its key or its JSON could not be read (the message says which).
    case unreadable(String)

    public var events: [CalendarEvent] {
        if case .events(let events) = self { return events }
        return []
    }
}

/// Everything one reconcile observed, gathered by the controller (or the backtest) before
/// the pure `step`. No clock: `now` is in here.
public struct Observation: Sendable {
    public var now: Date
    public var capacity: CapacityState
    /// The load history on the step grid, oldest first, up to `now` (the forecast's input).
    public var history: [LoadSample]
    /// The source's newest load with its own time, when newer than the grid's last step (the present load).
    public var newest: LoadSample?
    public var model: ModelObservation
    public var calendar: CalendarObservation
    /// How far the source's data was moved in time (a replayed trace): a model trained on
    /// the original trace is aged by the shifted clock.
    public var timeShift: TimeInterval
    /// Set when the metrics source failed (the history is then empty).
    public var metricsProblem: MetricsProblem?

    public init(
        now: Date, capacity: CapacityState, history: [LoadSample], model: ModelObservation = .notConfigured,
        calendar: CalendarObservation = .notConfigured, timeShift: TimeInterval = 0,
        metricsProblem: MetricsProblem? = nil, newest: LoadSample? = nil
    ) {
        self.metricsProblem = metricsProblem
        self.newest = newest
        self.now = now
        self.capacity = capacity
        self.history = history
        self.model = model
        self.calendar = calendar
        self.timeShift = timeShift
    }

    /// The present load: the newest sample there is (the source's newest, or the grid's last step), if any that a
    /// source could have meant (finite, not negative).
    public var latest: LoadSample? {
        let last = history.last { $0.load.isFinite && $0.load >= 0 }
        guard let newest, newest.load.isFinite, newest.load >= 0, newest.time > last?.time ?? .distantPast else {
            return last
        }
        return newest
    }

    /// History rows a reconcile reads with this model (nil: none) — what the controller asks
    /// its metrics source for and what the backtest replays.
    public static func historySteps(for header: ModelHeader?) -> Int {
        header?.historyRows ?? ModelHeader.historyRows(sequenceLength: nil)
    }
}
