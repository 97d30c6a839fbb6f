import Forecasting
import Foundation

/// What `decide` reads: the numbers of one observation after `step` has judged freshness,
/// model health and the forecast. No clock: `now` is in here.
public struct DecisionInput: Sendable, Equatable {
    public var now: Date
    /// The capacity the target is set to.
    public var currentCapacity: Int
    /// Capacity-independent load now; nil when no datapoint arrived or the latest is stale.
    public var currentLoad: Double?
    /// The forecast per future step, at the policy's quantile.
    public var forecast: [ForecastPoint]
    /// Why the model cannot be used (nil: usable, or not needed).
    public var modelProblem: ModelProblem?
    public var events: [CalendarEvent]
    public var lastScaleUp: Date?
    public var lastScaleDown: Date?
    /// Raw recommendations of the scale-in stabilization window.
    public var recommendations: [Recommendation]

    public init(
        now: Date, currentCapacity: Int, currentLoad: Double?, forecast: [ForecastPoint] = [],
        modelProblem: ModelProblem? = nil,
        events: [CalendarEvent] = [], lastScaleUp: Date? = nil, lastScaleDown: Date? = nil,
        recommendations: [Recommendation] = []
    ) {
        self.now = now
        self.currentCapacity = currentCapacity
        self.currentLoad = currentLoad
        self.forecast = forecast
        self.modelProblem = modelProblem
        self.events = events
        self.lastScaleUp = lastScaleUp
        self.lastScaleDown = lastScaleDown
        self.recommendations = recommendations
    }
}

/// A past raw recommendation (time, capacity).
public struct Recommendation: Sendable, Equatable, Codable {
    public var time: Date
    public var capacity: Int
    public init(time: Date, capacity: Int) {
        self.time = time
        self.capacity = capacity
    }
}

/// The capacity for `load` at `utilization` % per instance, rounded up. Loads beyond any
/// capacity a policy may have are clamped (the bounds apply next), never converted blindly.
func capacity(for load: Double, utilization: Double) -> Int {
    let needed = (load / utilization).rounded(.up)
    guard needed.isFinite else { return needed > 0 ? Int(SpecFields.capacityRange.upperBound) + 1 : 0 }
    return Int(min(max(needed, 0), SpecFields.capacityRange.upperBound + 1))
}

/// The decision engine: pure, no I/O, no clock. Rules, in order:
/// recommendation (Predictive target tracking on the quantile of forecast load over
/// (now, now + leadTime + step], the prototype's Threshold rule on predicted per-instance
/// CPU, or Reactive target tracking on current load — also the fallback when the model is
/// unusable); calendar pre-warm floor; min/max; scale-in stabilization (highest
/// recommendation in the window); scale-up cooldown and max step; scale-in cooldown and max
/// step; no scale-in on missing or stale metrics; ForecastOnly and suspend never act.
/// HPA's tolerance: target tracking keeps the current capacity while the load it is sized on
/// is within `tolerance` of what that capacity serves at the target, so a load hovering at a
/// capacity boundary does not flap the capacity by one instance up and down.
func tolerated(_ recommendation: Int, load: Double, current: Int, policy: PolicySpec, limits: inout [Plan.Limit]) -> Int
{
    guard recommendation != current, current > 0, policy.tolerance > 0 else { return recommendation }
    let ratio = load / (Double(current) * policy.targetUtilization)
    guard abs(ratio - 1) <= policy.tolerance else { return recommendation }
    limits.append(.tolerance)
    return current
}

public func decide(_ input: DecisionInput, policy: PolicySpec) -> Plan {
    let current = input.currentCapacity
    var limits: [Plan.Limit] = []
    let horizonEnd = input.now.addingTimeInterval(policy.actingHorizon)
    let window = input.forecast.filter { $0.time > input.now && $0.time <= horizonEnd }
    let forecastLoad = window.map(\.value).max()
    let (basis, recommendation, fallback) = recommend(
        input, policy: policy, window: window, forecastLoad: forecastLoad, limits: &limits)

    let floor = calendarFloor(input, policy: policy)
    var desired = recommendation
    if floor > desired {
        desired = floor
        limits.append(.calendarPrewarm)
    }
    if desired < policy.minCapacity {
        desired = policy.minCapacity
        limits.append(.minCapacity)
    }
    if desired > policy.maxCapacity {
        desired = policy.maxCapacity
        limits.append(.maxCapacity)
    }

    var reason: Plan.Reason
    if desired > current {
        desired = limitedScaleUp(to: desired, input, policy: policy, limits: &limits)
        if desired == current {
            reason = .held(by: .scaleUpCooldown)
        } else if floor > recommendation {
            reason = .calendarPrewarm
        } else {
            reason =
                switch basis {
                case .predictive: .forecastAboveTarget
                case .threshold: .predictedCPUAboveThreshold
                case .reactive, .noMetrics: .loadAboveTarget
                }
        }
    } else if desired < current {
        desired = limitedScaleDown(to: desired, input, policy: policy, limits: &limits)
        if desired < current {
            reason =
                switch basis {
                case .predictive: .forecastBelowTarget
                case .threshold: .predictedCPUBelowThreshold
                case .reactive, .noMetrics: .loadBelowTarget
                }
        } else {
            reason = limits.last.map { .held(by: $0) } ?? .steady
        }
    } else {
        reason = limits.contains(.tolerance) ? .held(by: .tolerance) : .steady
    }

    var action: Plan.Action = desired == current ? .hold : .scale(to: desired)
    if policy.suspend {
        action = .hold
        reason = .suspended
    } else if policy.mode == .forecastOnly {
        action = .hold
        reason = .forecastOnly
    }
    return Plan(
        action: action, desired: desired, recommendation: recommendation, basis: basis, reason: reason,
        limits: limits, fallback: fallback, forecastLoad: forecastLoad, metricsAvailable: input.currentLoad != nil)
}

/// The rule's capacity before any limit: the forecast's (Predictive, Threshold), else target tracking on the present
/// load (Reactive, and the fallback when the model is unusable or gave nothing within the lead time).
func recommend(
    _ input: DecisionInput, policy: PolicySpec, window: [ForecastPoint], forecastLoad: Double?,
    limits: inout [Plan.Limit]
) -> (basis: Plan.Basis, recommendation: Int, fallback: ModelProblem?) {
    let current = input.currentCapacity
    let capacityFor: (Double) -> Int = { capacity(for: $0, utilization: policy.targetUtilization) }
    var fallback: ModelProblem?
    if policy.mode.usesModel {
        fallback = input.modelProblem ?? (forecastLoad == nil ? .noForecast : nil)
    }
    if policy.mode.usesModel, fallback == nil, let forecastLoad {
        if policy.mode == .threshold {
            // The prototype's rule: predicted per-instance CPU at the current capacity.
            let predictedCPU = (window.first?.median ?? forecastLoad) / Double(max(1, current))
            let recommendation =
                predictedCPU > policy.scaleUpAbove
                ? current + 1 : predictedCPU < policy.scaleDownBelow ? current - 1 : current
            return (.threshold, recommendation, nil)
        }
        // The higher of the forecast's capacity and target tracking on the current load,
        // as AWS runs predictive scaling together with dynamic scaling: the forecast
        // brings capacity forward; it never removes capacity the present load needs.
        // The forecast's quantile is sized at spec.forecast.sizingUtilization (an SLO), the
        // present load at the target.
        let sizing = policy.effectiveSizingUtilization
        let recommendation = max(
            capacity(for: forecastLoad, utilization: sizing), input.currentLoad.map(capacityFor) ?? 0)
        let tolerated = tolerated(
            recommendation, load: max(forecastLoad * policy.targetUtilization / sizing, input.currentLoad ?? 0),
            current: current, policy: policy, limits: &limits)
        return (.predictive, tolerated, nil)
    }
    if let load = input.currentLoad {
        let recommendation = tolerated(
            capacityFor(load), load: load, current: current, policy: policy, limits: &limits)
        return (.reactive, recommendation, fallback)
    }
    return (.noMetrics, current, fallback)
}

/// Calendar pre-warm: from start − (leadTime + one step) — the last pass that can still
/// start instances a lead time before the event, whatever the reconcile phase — hold at
/// least the capacity for the event's expected load (current load × multiplier); once it has
/// begun, hold the capacity — until the event ends with holdThroughEvent, else for one
/// stabilization window while its ramp settles; then the forecast (which knows the calendar)
/// and the load decide, so a day-long event is not paid for at its peak all day.
func calendarFloor(_ input: DecisionInput, policy: PolicySpec) -> Int {
    var floor = 0
    let load = input.currentLoad ?? 0
    for event in input.events
    where input.now >= event.start.addingTimeInterval(-policy.actingHorizon)
        && input.now
            < (policy.holdThroughEvent
                ? event.end : min(event.end, event.start.addingTimeInterval(policy.stabilizationWindowSeconds)))
    {
        if let multiplier = event.multiplier, input.now < event.start {
            floor = max(floor, capacity(for: load * multiplier, utilization: policy.targetUtilization))
        } else {
            floor = max(floor, input.currentCapacity)
        }
    }
    return floor
}

/// A scale-up to `desired`, held by the cooldown or cut to the maximum step.
func limitedScaleUp(to desired: Int, _ input: DecisionInput, policy: PolicySpec, limits: inout [Plan.Limit]) -> Int {
    let current = input.currentCapacity
    if let last = input.lastScaleUp, input.now.timeIntervalSince(last) < policy.scaleUpCooldownSeconds {
        limits.append(.scaleUpCooldown)
        return current
    }
    let step = max(policy.scaleUpMaxStep, Int((Double(current) * policy.scaleUpMaxStepPercent / 100).rounded(.up)))
    if desired - current > step {
        limits.append(.maxStepUp)
        return current + step
    }
    return desired
}

/// A scale-in to `desired` (already within the bounds): only on fresh metrics, never below the highest
/// recommendation of the stabilization window, then held by the cooldown or cut to the maximum step.
func limitedScaleDown(to bounded: Int, _ input: DecisionInput, policy: PolicySpec, limits: inout [Plan.Limit]) -> Int {
    let current = input.currentCapacity
    var desired = bounded
    let windowStart = input.now.addingTimeInterval(-policy.stabilizationWindowSeconds)
    let stabilized = max(
        bounded,
        input.recommendations.filter { $0.time > windowStart }
            .map { min(policy.maxCapacity, max(policy.minCapacity, $0.capacity)) }.max() ?? bounded)
    if input.currentLoad == nil {
        desired = current
        limits.append(.metricsUnavailable)
    } else if stabilized > desired {
        desired = min(current, stabilized)
        limits.append(.stabilizationWindow)
    }
    guard desired < current else { return desired }
    let lastScale = [input.lastScaleUp, input.lastScaleDown].compactMap { $0 }.max()
    if let lastScale, input.now.timeIntervalSince(lastScale) < policy.scaleDownCooldownSeconds {
        limits.append(.scaleDownCooldown)
        return current
    }
    if current - desired > policy.scaleDownMaxStep {
        limits.append(.maxStepDown)
        return current - policy.scaleDownMaxStep
    }
    return desired
}
