import Foundation
import Forecasting

/// Replays a load trace through a `SimulatedTarget` with the real `decide()` and forecaster,
/// step by step in virtual time. The forecaster only ever sees the past: its input is the
/// history the simulated monitor could have observed up to each step (load saturates with
/// the in-service capacity), and the model must have been trained on data before `start`.
public enum Backtest {
    public struct Options: Sendable {
        public var warmupSeconds: Double = 300
        public var initialCapacity = 2
        /// Per-instance utilisation above this is an overloaded interval.
        public var sloUtilization: Double = 80
        /// First step replayed (earlier rows are history only).
        public var startIndex: Int
        public init(startIndex: Int) { self.startIndex = startIndex }
    }

    public struct Step: Sendable {
        public var time: Date
        public var demand: Double
        public var inService: Int
        public var desired: Int
        public var forecast: Double?
        public var band: ClosedRange<Double>?
    }

    public struct Result: Sendable {
        public var name: String
        public var steps: Int
        public var overloadIntervals: Int
        /// Σ over steps of instances missing to stay at or below the SLO, × step minutes.
        public var underProvisionedInstanceMinutes: Double
        /// Σ of capacity set (warming instances are billed too) × step hours.
        public var instanceHours: Double
        public var scalingActions: Int
        /// Forecast MAE at the lead time (quantile value vs. actual demand), when forecasting.
        public var forecastMAE: Double?
        /// Per step: time, demand, in-service capacity, capacity set, forecast used and the
        /// model's band (lowest to highest quantile) at the same point.
        public var timeline: [Step]

        public var json: [String: Any] {
            var result: [String: Any] = [
                "policy": name, "steps": steps, "overload_intervals": overloadIntervals,
                "under_provisioned_instance_minutes": underProvisionedInstanceMinutes,
                "instance_hours": instanceHours, "scaling_actions": scalingActions,
            ]
            if let forecastMAE { result["forecast_mae_at_lead_time"] = forecastMAE }
            return result
        }
    }

    public static func run(name: String, policy: PolicySpec, start: Date, step: Double, demand: [Double], forecaster: Forecaster?, events: [CalendarEvent], options: Options) -> Result {
        let target = SimulatedTarget(start: start, step: step, demand: demand, warmup: options.warmupSeconds, initialCapacity: options.initialCapacity)
        var recommendations: [Observation.Recommendation] = []
        var lastUp: Date?, lastDown: Date?
        var overload = 0, actions = 0
        var underMinutes = 0.0, instanceHours = 0.0
        var forecastErrors: [Double] = []
        var timeline: [Step] = []
        let historySteps = max(48, (forecaster?.header.sequenceLength ?? 24) * 2 + 12)
        let leadSteps = max(1, Int(((policy.leadTimeSeconds + policy.stepSeconds) / step).rounded()))
        let observationEvents = events.map { Observation.Event(name: $0.name, start: $0.start, end: $0.end, multiplier: $0.multiplier) }

        for index in max(options.startIndex, 1)..<demand.count {
            // Decide just after the sample at `index` was observed.
            let now = start.addingTimeInterval(Double(index) * step + 1)
            let capacity = target.capacityState(at: now)
            let history = observedHistory(target, index: index, steps: historySteps, start: start, step: step)
            var forecast: [Observation.ForecastPoint] = []
            var health = Observation.ModelHealth.unusable(reason: "NoModel", message: "no model")
            if let forecaster, policy.mode != .reactive {
                health = .ready
                if let points = try? Controller.forecast(forecaster, history: history, events: events, quantile: policy.quantile) {
                    forecast = points
                } else {
                    health = .unusable(reason: "ForecastFailed", message: "")
                }
            }
            let observation = Observation(now: now, currentCapacity: capacity.desired, inServiceCapacity: capacity.inService, currentLoad: history.last?.load,
                                          forecast: forecast, model: health, events: observationEvents,
                                          lastScaleUp: lastUp, lastScaleDown: lastDown, recommendations: recommendations)
            let plan = decide(observation, policy: policy)
            if let used = plan.forecastLoad, index + leadSteps < demand.count {
                forecastErrors.append(abs(used - demand[index + leadSteps]))
            }
            recommendations = recommendations.filter { now.timeIntervalSince($0.time) <= policy.stabilizationWindowSeconds } + [.init(time: now, capacity: plan.recommendation)]
            if case .scale(let to) = plan.action {
                target.changes(to: to, at: now)
                actions += 1
                if to > capacity.desired { lastUp = now } else { lastDown = now }
            }
            // Account the interval that follows the decision.
            let intervalEnd = start.addingTimeInterval(Double(index + 1) * step)
            let served = target.capacityState(at: intervalEnd.addingTimeInterval(-1))
            let next = index + 1 < demand.count ? demand[index + 1] : demand[index]
            let inService = max(0, served.inService)
            if next / Double(max(1, inService)) > options.sloUtilization { overload += 1 }
            let needed = Int((next / options.sloUtilization).rounded(.up))
            underMinutes += Double(max(0, needed - inService)) * step / 60
            instanceHours += Double(served.desired) * step / 3600
            let horizonEnd = now.addingTimeInterval(policy.leadTimeSeconds + policy.stepSeconds)
            let used = forecast.filter { $0.time > now && $0.time <= horizonEnd }.max { $0.value < $1.value }
            timeline.append(Step(time: intervalEnd, demand: next, inService: inService, desired: served.desired, forecast: plan.forecastLoad,
                                 band: used.map { min($0.low, $0.high)...max($0.low, $0.high) }))
        }
        return Result(name: name, steps: timeline.count, overloadIntervals: overload, underProvisionedInstanceMinutes: underMinutes,
                      instanceHours: instanceHours, scalingActions: actions,
                      forecastMAE: forecastErrors.isEmpty ? nil : forecastErrors.reduce(0, +) / Double(forecastErrors.count), timeline: timeline)
    }

    /// What a monitor saw up to and including step `index`: demand saturated at 100 % × in service.
    static func observedHistory(_ target: SimulatedTarget, index: Int, steps: Int, start: Date, step: Double) -> [(time: Date, load: Double)] {
        (max(0, index - steps + 1)...index).map { row in
            let time = start.addingTimeInterval(Double(row) * step)
            let inService = Double(max(1, target.capacityState(at: time.addingTimeInterval(step - 1)).inService))
            return (time, min(target.demand[row], 100 * inService))
        }
    }
}

extension SimulatedTarget {
    /// Synchronous capacity change (backtests run without a network).
    func changes(to capacity: Int, at time: Date) {
        appendChange(capacity, at: time)
    }
}
