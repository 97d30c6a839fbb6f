import Foundation

/// Everything `decide` may look at, gathered by the reconciler. No clock: `now` is in here.
public struct Observation: Sendable, Equatable {
    public enum ModelHealth: Sendable, Equatable {
        case ready
        /// Why the model cannot be used: missing, stale, corrupt, failed its accuracy gate.
        case unusable(reason: String, message: String)
    }

    public var now: Date
    /// Capacity the target is set to, and how much of it is in service (warm).
    public var currentCapacity: Int
    public var inServiceCapacity: Int
    /// Capacity-independent load now (e.g. average CPU% × in-service instances); nil when
    /// no datapoint arrived or the latest one is stale.
    public var currentLoad: Double?
    public var metricsAge: Double?
    /// The forecast load per future step: (time, value at the policy's quantile, median).
    public var forecast: [ForecastPoint]
    public var model: ModelHealth
    /// Sales events (start, end, load multiplier) from the calendar.
    public var events: [Event]
    public var lastScaleUp: Date?
    public var lastScaleDown: Date?
    /// Past raw recommendations (time, capacity) for the scale-in stabilization window.
    public var recommendations: [Recommendation]

    public struct ForecastPoint: Sendable, Equatable {
        public var time: Date
        public var value: Double
        public var median: Double
        /// The model's lowest and highest quantiles: the band around the forecast.
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

    public struct Event: Sendable, Equatable {
        public var name: String
        public var start: Date
        public var end: Date
        public var multiplier: Double?
        public init(name: String, start: Date, end: Date, multiplier: Double?) {
            self.name = name
            self.start = start
            self.end = end
            self.multiplier = multiplier
        }
    }

    public struct Recommendation: Sendable, Equatable, Codable {
        public var time: Date
        public var capacity: Int
        public init(time: Date, capacity: Int) {
            self.time = time
            self.capacity = capacity
        }
    }

    public init(now: Date, currentCapacity: Int, inServiceCapacity: Int, currentLoad: Double?, metricsAge: Double? = nil, forecast: [ForecastPoint] = [], model: ModelHealth = .ready, events: [Event] = [], lastScaleUp: Date? = nil, lastScaleDown: Date? = nil, recommendations: [Recommendation] = []) {
        self.now = now
        self.currentCapacity = currentCapacity
        self.inServiceCapacity = inServiceCapacity
        self.currentLoad = currentLoad
        self.metricsAge = metricsAge
        self.forecast = forecast
        self.model = model
        self.events = events
        self.lastScaleUp = lastScaleUp
        self.lastScaleDown = lastScaleDown
        self.recommendations = recommendations
    }
}

/// What to do, and why — `decide`'s answer, compared in tests.
public struct Plan: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case scale(to: Int)
        case hold
    }

    public var action: Action
    /// The capacity the policy wants now (after every rule); equals the current one on hold.
    public var desired: Int
    /// The raw recommendation before bounds, steps, cooldowns and stabilization.
    public var recommendation: Int
    /// The rule that produced the recommendation: Predictive, Threshold, Reactive.
    public var basis: String
    /// Why the final capacity is what it is (CamelCase, for status and Events).
    public var reason: String
    /// Limits that changed the answer (MinCapacity, MaxCapacity, MaxStepUp, …).
    public var limits: [String]
    /// Non-nil when the policy's mode could not be used (model unusable): the fallback reason.
    public var fallback: String?
    /// The forecast load the decision used (quantile over the lead time), if any.
    public var forecastLoad: Double?
    public var metricsAvailable: Bool
}

/// The decision engine: pure, no I/O, no clock. Rules, in order:
/// recommendation (Predictive target tracking on the quantile of forecast load over
/// [now, now + leadTime + step], the prototype's Threshold rule on predicted per-instance CPU,
/// or Reactive target tracking on current load — also the fallback when the model is
/// unusable); calendar pre-warm floor; min/max; scale-in stabilization (highest
/// recommendation in the window); scale-up cooldown and max step; scale-in cooldown and max
/// step; no scale-in on missing or stale metrics; ForecastOnly and suspend never act.
public func decide(_ observation: Observation, policy: PolicySpec) -> Plan {
    let current = observation.currentCapacity
    var limits: [String] = []
    var fallback: String?
    let metricsAvailable = observation.currentLoad != nil
    let horizonEnd = observation.now.addingTimeInterval(policy.leadTimeSeconds + policy.stepSeconds)
    let window = observation.forecast.filter { $0.time > observation.now && $0.time <= horizonEnd }
    let forecastLoad = window.map(\.value).max()
    let capacityFor: (Double) -> Int = { load in Int((load / policy.targetUtilization).rounded(.up)) }

    var basis: String
    var recommendation: Int
    var wantsPrediction = policy.mode == .predictive || policy.mode == .threshold || policy.mode == .forecastOnly
    if wantsPrediction {
        if case .unusable(let reason, _) = observation.model {
            fallback = reason
            wantsPrediction = false
        } else if forecastLoad == nil {
            fallback = "NoForecast"
            wantsPrediction = false
        }
    }
    if wantsPrediction, let forecastLoad {
        if policy.mode == .threshold {
            // The prototype's rule: predicted per-instance CPU at the current capacity.
            let predictedCPU = (window.first?.median ?? forecastLoad) / Double(max(1, current))
            recommendation = predictedCPU > policy.scaleUpAbove ? current + 1 : predictedCPU < policy.scaleDownBelow ? current - 1 : current
            basis = "Threshold"
        } else {
            // The higher of the forecast's capacity and target tracking on the current load,
            // as AWS runs predictive scaling together with dynamic scaling: the forecast
            // brings capacity forward; it never removes capacity the present load needs.
            recommendation = max(capacityFor(forecastLoad), observation.currentLoad.map(capacityFor) ?? 0)
            basis = "Predictive"
        }
    } else if let load = observation.currentLoad {
        recommendation = capacityFor(load)
        basis = "Reactive"
    } else {
        recommendation = current
        basis = "NoMetrics"
    }

    // Calendar pre-warm: from start − leadTime, hold at least the capacity for the event's
    // expected load (current load × multiplier); once it has begun, hold the capacity — until
    // the event ends with holdThroughEvent, else for one stabilization window while its ramp
    // settles; then the forecast (which knows the calendar) and the load decide, so a
    // day-long event is not paid for at its peak all day.
    var floor = 0
    let load = observation.currentLoad ?? 0
    for event in observation.events
    where observation.now >= event.start.addingTimeInterval(-policy.leadTimeSeconds)
        && observation.now < (policy.holdThroughEvent ? event.end : min(event.end, event.start.addingTimeInterval(policy.stabilizationWindowSeconds))) {
        if let multiplier = event.multiplier, observation.now < event.start {
            floor = max(floor, capacityFor(load * multiplier))
        } else {
            floor = max(floor, current)
        }
    }
    var desired = recommendation
    if floor > desired {
        desired = floor
        limits.append("CalendarPrewarm")
    }
    if desired < policy.minCapacity {
        desired = policy.minCapacity
        limits.append("MinCapacity")
    }
    if desired > policy.maxCapacity {
        desired = policy.maxCapacity
        limits.append("MaxCapacity")
    }
    let bounded = desired

    var reason: String
    if desired > current {
        if let last = observation.lastScaleUp, observation.now.timeIntervalSince(last) < policy.scaleUpCooldownSeconds {
            desired = current
            limits.append("ScaleUpCooldown")
        } else if desired - current > policy.scaleUpMaxStep {
            desired = current + policy.scaleUpMaxStep
            limits.append("MaxStepUp")
        }
        reason = desired > current ? (floor > recommendation ? "CalendarPrewarm" : basis == "Predictive" ? "ForecastAboveTarget" : basis == "Threshold" ? "PredictedCPUAboveThreshold" : "LoadAboveTarget") : "ScaleUpCooldown"
    } else if desired < current {
        // Scale-in only on fresh metrics, on the highest recommendation of the window.
        let windowStart = observation.now.addingTimeInterval(-policy.stabilizationWindowSeconds)
        let stabilized = max(bounded, observation.recommendations.filter { $0.time > windowStart }.map { min(policy.maxCapacity, max(policy.minCapacity, $0.capacity)) }.max() ?? bounded)
        if !metricsAvailable {
            desired = current
            limits.append("MetricsUnavailable")
        } else if stabilized > desired {
            desired = min(current, stabilized)
            limits.append("StabilizationWindow")
        }
        if desired < current {
            let lastScale = [observation.lastScaleUp, observation.lastScaleDown].compactMap { $0 }.max()
            if let lastScale, observation.now.timeIntervalSince(lastScale) < policy.scaleDownCooldownSeconds {
                desired = current
                limits.append("ScaleDownCooldown")
            } else if current - desired > policy.scaleDownMaxStep {
                desired = current - policy.scaleDownMaxStep
                limits.append("MaxStepDown")
            }
        }
        reason = desired < current ? (basis == "Predictive" ? "ForecastBelowTarget" : basis == "Threshold" ? "PredictedCPUBelowThreshold" : "LoadBelowTarget") : (limits.last ?? "Steady")
    } else {
        reason = "Steady"
    }

    var action: Plan.Action = desired == current ? .hold : .scale(to: desired)
    if policy.suspend {
        action = .hold
        reason = "Suspended"
    } else if policy.mode == .forecastOnly {
        action = .hold
        reason = "ForecastOnly"
    }
    return Plan(action: action, desired: desired, recommendation: recommendation, basis: basis, reason: reason,
                limits: limits, fallback: fallback, forecastLoad: forecastLoad, metricsAvailable: metricsAvailable)
}
