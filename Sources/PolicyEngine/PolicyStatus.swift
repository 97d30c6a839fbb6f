import Foundation
import KubeCore

/// The controller's part of a ScalingPolicy's status, typed as the CRD's status schema
/// declares it and encoded once (`json`). `status.training` belongs to the trainer and is
/// not here: the controller's merge patches never touch it.
public struct PolicyStatus: Codable, Sendable, Equatable {
    /// The CRD's (and metav1.Condition's) bound on a condition's message, in characters.
    public static let maxConditionMessageLength = 32768

    public var observedGeneration: Int?
    /// Display strings for `kubectl get` (printer columns), as HPA shows its own:
    /// `Simulated/web`, `4/5` (current/desired), `45%/60%` (utilisation now / target),
    /// `72% in 10m (p80)` (what the forecast means at the current capacity), `4→5 LoadAboveTarget`.
    public var targetRef: String?
    public var replicas: String?
    public var loadVsTarget: String?
    public var forecastSummary: String?
    public var lastActionSummary: String?
    public var currentCapacity: Int?
    public var inServiceCapacity: Int?
    public var desiredCapacity: Int?
    /// The rule the last decision used (Predictive, Threshold, Reactive, NoMetrics).
    public var mode: String?
    /// Load when the observation fields were last refreshed (see `step`), and as a
    /// percentage of what the current capacity serves at 100 %.
    public var currentLoad: Double?
    public var currentUtilization: Double?
    public var lastScaleUpTime: Date?
    public var lastScaleDownTime: Date?
    public var lastAction: ScalingAction?
    /// An action recorded before it was applied: the next pass confirms it (the target shows
    /// it) or drops it (the target does not), so a crash between the two never applies a
    /// decision twice and never loses the cooldown it started.
    public var pendingAction: ScalingAction?
    public var lastForecast: LastForecast?
    /// The scale-in stabilization window's recommendations (written when they change).
    public var recommendations: [Recommendation]?
    public var model: Model?
    public var conditions: [Condition]?
    /// The lead time decisions use and where it comes from, with the target's measured
    /// launch-to-ready seconds (written when a measurement or the source changes).
    public var leadTime: LeadTime?

    public struct LeadTime: Codable, Sendable, Equatable {
        public var seconds: Int
        public var source: LeadTimeSource
        public var samples: [Int]?
    }

    public struct LastForecast: Codable, Sendable, Equatable {
        public var time: Date
        /// The load the decision used: the quantile's maximum over the lead time.
        public var load: Double
        public var quantile: Double
        public var leadTimeSeconds: Int
        public var points: [Point]

        public struct Point: Codable, Sendable, Equatable {
            public var time: Date
            public var value: Double
            public var median: Double
        }
    }

    public struct Model: Codable, Sendable, Equatable {
        public var artefact: String
        public var version: String
        public var trainedAt: Date
        public var loadedAt: Date
        public var holdoutMAE: Double?
        /// The baseline the accuracy gate compares with, and its MAE on the same holdout.
        public var baseline: String?
        public var baselineMAE: Double?
        /// The forecaster that serves ("lstm", "ets", "seasonal_naive", …) and why.
        public var served: String?
        public var selection: String?
    }

    public init() {}

    public var conditionList: [Condition] { conditions ?? [] }

    // MARK: JSON

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamps.format(date))
        }
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = Timestamps.parse(text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 time: \(text)"))
            }
            return date
        }
        return decoder
    }()

    /// The status as the API stores it (absent fields omitted).
    public var json: JSONValue {
        // Encoding plain values and RFC 3339 strings cannot fail.
        guard let data = try? Self.encoder.encode(self), let value = try? JSONValue(parsing: data) else { return [:] }
        return value
    }

    /// The controller's fields of a stored status. Status is written by other clients too
    /// (anyone with the status subresource), so a field that does not decode is dropped,
    /// not a reason to stop reconciling.
    public init(json: JSONValue?) {
        self.init()
        guard let fields = json?.objectValue else { return }
        func field<T: Decodable>(_ key: String, _ type: T.Type) -> T? {
            guard let value = fields[key], value != .null else { return nil }
            return try? Self.decoder.decode(T.self, from: value.serialized())
        }
        observedGeneration = field("observedGeneration", Int.self)
        targetRef = field("targetRef", String.self)
        replicas = field("replicas", String.self)
        loadVsTarget = field("loadVsTarget", String.self)
        forecastSummary = field("forecastSummary", String.self)
        lastActionSummary = field("lastActionSummary", String.self)
        currentCapacity = field("currentCapacity", Int.self)
        inServiceCapacity = field("inServiceCapacity", Int.self)
        desiredCapacity = field("desiredCapacity", Int.self)
        mode = field("mode", String.self)
        currentLoad = field("currentLoad", Double.self)
        currentUtilization = field("currentUtilization", Double.self)
        lastScaleUpTime = field("lastScaleUpTime", Date.self)
        lastScaleDownTime = field("lastScaleDownTime", Date.self)
        lastAction = field("lastAction", ScalingAction.self)
        pendingAction = field("pendingAction", ScalingAction.self)
        lastForecast = field("lastForecast", LastForecast.self)
        recommendations = field("recommendations", [Recommendation].self)
        model = field("model", Model.self)
        conditions = field("conditions", [Condition].self)
        leadTime = field("leadTime", LeadTime.self)
    }

    /// A JSON merge patch of `status` from `old` to `self`: changed fields, and null for the
    /// controller's fields that disappeared. nil when nothing changed (no write).
    public func mergePatch(from old: PolicyStatus) -> JSONValue? {
        let new = json.objectValue ?? [:]
        let previous = old.json.objectValue ?? [:]
        var patch: [String: JSONValue] = [:]
        for (key, value) in new where previous[key] != value { patch[key] = value }
        for key in previous.keys where new[key] == nil { patch[key] = .null }
        return patch.isEmpty ? nil : .object(patch)
    }
}

extension [Condition] {
    /// The condition of `type`, if set.
    public func condition(_ type: ConditionType) -> Condition? { condition(type.rawValue) }
}

/// A change of capacity: intended (status.pendingAction), taken (status.lastAction, the dashboard's markers).
public struct ScalingAction: Codable, Sendable, Equatable {
    /// Names the decision (policy, generation, time, capacity): a retry of it keeps it.
    public var id: String?
    public var from: Int
    public var to: Int
    public var reason: String
    public var time: Date

    public init(id: String? = nil, from: Int, to: Int, reason: String, time: Date) {
        self.id = id
        self.from = from
        self.to = to
        self.reason = reason
        self.time = time
    }
}
