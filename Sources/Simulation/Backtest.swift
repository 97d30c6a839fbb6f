import Autoscaler
import Forecasting
import Foundation
import PolicyEngine

/// Replays a load trace through a `SimulatedTarget` with the controller's own `Step.run`
/// (freshness, model health, forecast, `decide`, the pending-action protocol), step by step
/// in virtual time — the reconcile loop without its I/O. The forecaster only ever sees the
/// past: its input is the history the simulated monitor observed up to each step, and the
/// model must have been trained on data before the replayed window.
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

    /// One replayed interval: what came after a decision.
    public struct Interval: Sendable {
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
        public var timeline: [Interval]
        /// The capacities set, in order (what the controller would have set).
        public var actions: [SimulatedTarget.Change]
        /// Fraction of steps whose demand a lead time ahead was at or below the forecast at
        /// the policy's quantile (a calibrated p80 covers about 0.8).
        public var forecastCoverage: Double?
        /// The mean width of the band (the model's lowest to highest quantile) of those forecasts.
        public var forecastBandWidth: Double?
        /// The capacity before the first action.
        public var initialCapacity: Int

        /// Actions per day of replay.
        public var actionsPerDay: Double {
            let days =
                Double(steps) * (timeline.count > 1 ? timeline[1].time.timeIntervalSince(timeline[0].time) : 300)
                / 86_400
            return days > 0 ? Double(scalingActions) / days : 0
        }

        /// Actions that undo the previous one within an hour (up then down, or down then up): flapping.
        public var reversalsWithinHour: Int {
            var count = 0
            var previous: (time: Date, up: Bool, capacity: Int)?
            var capacity = initialCapacity
            for change in actions {
                let up = change.capacity > capacity
                if let last = previous, last.up != up, change.time.timeIntervalSince(last.time) <= 3600 { count += 1 }
                previous = (change.time, up, change.capacity)
                capacity = change.capacity
            }
            return count
        }

        public var json: [String: Any] {
            var result: [String: Any] = [
                "policy": name, "steps": steps, "overload_intervals": overloadIntervals,
                "under_provisioned_instance_minutes": underProvisionedInstanceMinutes,
                "instance_hours": instanceHours, "scaling_actions": scalingActions,
            ]
            if let forecastMAE { result["forecast_mae_at_lead_time"] = forecastMAE }
            if let forecastCoverage { result["forecast_coverage"] = forecastCoverage }
            if let forecastBandWidth { result["forecast_band_width"] = forecastBandWidth }
            result["actions_per_day"] = actionsPerDay
            result["direction_reversals_within_1h"] = reversalsWithinHour
            return result
        }
    }

    public static func run(
        name: String, policy: PolicySpec, trace: Trace, forecaster: Forecaster?, events: [CalendarEvent],
        options: Options
    ) async -> Result {
        // The policy's covariates are trace columns (the caller checks they exist).
        let world = Replay(
            target: SimulatedTarget(
                trace: trace, warmup: options.warmupSeconds, initialCapacity: options.initialCapacity,
                inputs: policy.inputs.map(\.name))
                ?? SimulatedTarget(
                    trace: trace, warmup: options.warmupSeconds, initialCapacity: options.initialCapacity))
        var status = PolicyStatus()
        var memory: PolicyMemory?
        var score = Scorecard(slo: options.sloUtilization)
        var underMinutes = 0.0
        var forecastErrors: [Double] = []
        var timeline: [Interval] = []
        let demand = trace.demand
        let step = trace.step
        let historySteps = Observation.historySteps(for: forecaster?.header)
        let leadSteps = max(1, Int((policy.actingHorizon / step).rounded()))
        let model: ModelObservation =
            forecaster.map {
                .loaded(LoadedModel(forecaster: $0, version: "backtest", loadedAt: trace.start, artefact: "backtest"))
            } ?? .notConfigured
        let calendar: CalendarObservation = events.isEmpty ? .notConfigured : .events(events)

        for index in max(options.startIndex, 1)..<demand.count {
            // Decide just after the sample at `index` was observed, as the controller would.
            let now = trace.start.addingTimeInterval(Double(index) * step + 1)
            let observation = Observation(
                now: now, capacity: world.target.capacity(at: now),
                history: world.target.loadHistory(until: now, steps: historySteps),
                model: model, calendar: calendar)
            let result = PolicyEngine.Step.run(
                spec: policy, generation: 1, observation: observation, previous: status, memory: memory)
            memory = result.memory
            let plan = result.plan
            if let used = plan.forecastLoad, index + leadSteps < demand.count {
                forecastErrors.append(abs(used - demand[index + leadSteps]))
                // Coverage at the lead time: the quantile forecast for that step against its demand.
                if let point = ForecastPoint.acting(in: result.forecast, now: now, spec: policy) {
                    score.forecast(point.value, band: point.low...point.high, outcome: demand[index + leadSteps])
                }
            }
            // The controller's executor: record, act on the simulated target, confirm. Nothing here throws.
            status =
                (try? await PolicyEngine.Step.execute(
                    result, previous: status, spec: policy, generation: 1, now: now, on: world))?.status
                ?? result.status
            // Account the interval that follows the decision.
            let intervalEnd = trace.start.addingTimeInterval(Double(index + 1) * step)
            let served = world.target.capacity(at: intervalEnd.addingTimeInterval(-1))
            let next = index + 1 < demand.count ? demand[index + 1] : demand[index]
            let inService = max(0, served.inService)
            score.interval(load: next, inService: inService, paid: served.desired, seconds: step)
            let needed = (next / options.sloUtilization).rounded(.up)
            underMinutes += max(0, needed - Double(inService)) * step / 60
            let horizonEnd = now.addingTimeInterval(policy.actingHorizon)
            let window = result.forecast.filter { $0.time > now && $0.time <= horizonEnd }
            let used = window.max { $0.value < $1.value }
            let band: ClosedRange<Double>? = used.map { min($0.low, $0.high)...max($0.low, $0.high) }
            timeline.append(
                Interval(
                    time: intervalEnd, demand: next, inService: inService, desired: served.desired,
                    forecast: plan.forecastLoad, band: band))
        }
        return Result(
            name: name, steps: timeline.count, overloadIntervals: score.overloadIntervals,
            underProvisionedInstanceMinutes: underMinutes,
            instanceHours: score.instanceHours, scalingActions: world.target.changeLog.count,
            forecastMAE: forecastErrors.isEmpty ? nil : forecastErrors.reduce(0, +) / Double(forecastErrors.count),
            timeline: timeline,
            actions: world.target.changeLog,
            forecastCoverage: score.coverage, forecastBandWidth: score.meanBandWidth,
            initialCapacity: options.initialCapacity)
    }

    /// The backtest's world for the executor: status in memory, a simulated target, Events counted.
    final class Replay: PassEffects {
        var target: SimulatedTarget
        private(set) var events: [EventIntent] = []

        init(target: SimulatedTarget) { self.target = target }

        func writeStatus(_ status: PolicyStatus, replacing old: PolicyStatus, memory: PolicyMemory) {}

        func setCapacity(_ capacity: Int, at: Date, actionID: String) {
            target.setCapacity(capacity, at: at)
        }

        func emit(_ events: [EventIntent]) { self.events += events }
    }
}
