import Forecasting
import Foundation
import KubeCore

/// What `step` carries from one pass to the next that is not worth a status write each
/// time: the exact stabilization window and when the status's observation fields were last
/// refreshed. A process that has none (first sight, a new leader) seeds it from status.
public struct PolicyMemory: Sendable, Equatable {
    public var recommendations: [Recommendation]
    public var observedAt: Date?
    /// Online calibration of the forecast at the policy's quantile.
    public var calibration = QuantileTracker()
    /// When the last step pass ran: fast checks fill the time until the next.
    public var stepPassAt: Date?
    /// The target's measured launch-to-ready times.
    public var leadTime = LeadTimeTracker()

    public init(recommendations: [Recommendation] = [], observedAt: Date? = nil) {
        self.recommendations = recommendations
        self.observedAt = observedAt
    }

    /// From a stored status. The stored window may be older than the last writer's (it is
    /// written with other changes, not every pass), so its highest recommendation is taken
    /// as made now: after a failover scale-in waits at most one window longer, never less.
    public init(seeding status: PolicyStatus, now: Date) {
        var window = status.recommendations ?? []
        if let highest = window.map(\.capacity).max() { window.append(Recommendation(time: now, capacity: highest)) }
        self.init(recommendations: window, observedAt: nil)
        leadTime = LeadTimeTracker(samples: (status.leadTime?.samples ?? []).map(Double.init))
    }
}

extension PolicyMemory {
    /// Adds a recommendation to the stabilization window, dropping what left it (at most 64 kept).
    mutating func remember(_ capacity: Int, at now: Date, window: TimeInterval) {
        let windowStart = now.addingTimeInterval(-window)
        recommendations = Array(
            (recommendations.filter { $0.time > windowStart } + [Recommendation(time: now, capacity: capacity)])
                .suffix(64))
    }
}

/// One pass's decision part: everything a reconcile computes between observing and acting.
public struct StepResult: Sendable {
    public var plan: Plan
    /// The status to write (the caller skips the write when it equals the stored one).
    public var status: PolicyStatus
    public var memory: PolicyMemory
    public var events: [EventIntent]
    /// The forecast at the policy's quantile (empty without a usable model or fresh metrics).
    public var forecast: [ForecastPoint]
    /// The fresh load the decision used (nil: stale or missing).
    public var currentLoad: Double?
}

/// The pure heart of a reconcile, shared by the controller and the backtest: judge the
/// metrics' freshness and the model's health, forecast, `decide`, and derive the status
/// and the Events. No I/O, no clock.
///
/// Status is quiet: the decision fields (capacities, rule, actions, model, conditions)
/// change only when something real changes; the observation fields (load, forecast,
/// window) are refreshed with them, or at most every `observationRefreshSeconds` — so a
/// watch on a steady policy prints nothing between real changes.
public enum Step {
    public static let observationRefreshSeconds: TimeInterval = 3600

    /// `policy` names the policy (its UID): action ids are unique per policy, so a target
    /// shared by the ledger of many never mistakes one policy's action for another's retry.
    public static func run(
        spec given: PolicySpec, generation: Int, observation: Observation, previous: PolicyStatus,
        memory: PolicyMemory?, policy: String = ""
    ) -> StepResult {
        let now = observation.now
        var memory = memory ?? PolicyMemory(seeding: previous, now: now)
        var status = previous
        var events: [EventIntent] = []
        resolvePending(&status, capacity: observation.capacity, events: &events)
        memory.leadTime.observe(observation.capacity, at: now)
        let spec = given.leadTime(learned: memory.leadTime)

        // Metrics: capacity-independent load history, fresh enough? Samples a source could
        // not have meant (non-finite, negative) are gaps.
        let history = observation.history.filter { $0.load.isFinite && $0.load >= 0 }
        // Fresh by the newest sample's own time (not the grid's), so a new series counts from its first scrape.
        let latest = observation.latest
        let fresh = latest.map { now.timeIntervalSince($0.time) <= spec.staleAfterSeconds } ?? false
        let currentLoad = fresh ? latest?.load : nil
        let model =
            spec.mode.usesModel
            ? modelForecast(spec: spec, observation: observation, history: history, fresh: fresh, memory: &memory)
            : ModelOutcome()

        let input = DecisionInput(
            now: now, currentCapacity: observation.capacity.desired, currentLoad: currentLoad,
            forecast: model.forecast, modelProblem: model.problem?.problem, events: observation.calendar.events,
            lastScaleUp: status.lastScaleUpTime, lastScaleDown: status.lastScaleDownTime,
            recommendations: memory.recommendations
        )
        let plan = decide(input, policy: spec)
        memory.remember(plan.recommendation, at: now, window: spec.stabilizationWindowSeconds)
        // Without a fresh load the next pass is a whole one again (a new series counts from its first scrape).
        memory.stepPassAt = fresh ? now : nil
        if case .scale(let to) = plan.action { memory.leadTime.raised(to: to, at: now) }
        setLeadTime(&status, spec: given, tracker: memory.leadTime)

        setDecisionFields(
            &status, spec: spec, generation: generation, observation: observation, plan: plan, policy: policy)
        setModel(&status, spec: spec, loaded: model.loaded, events: &events)
        var conditions = Conditions(status.conditionList, generation: generation, now: now)
        setConditions(
            &conditions, spec: spec, observation: observation, plan: plan, model: model,
            metrics: (fresh: fresh, latest: latest?.time))
        status.conditions = conditions.list
        events += conditions.flips
        refreshObservation(
            &status, previous: previous, memory: &memory, spec: spec, observation: observation, plan: plan,
            forecast: model.forecast, currentLoad: currentLoad)
        return StepResult(
            plan: plan, status: status, memory: memory, events: events, forecast: model.forecast,
            currentLoad: currentLoad)
    }

    /// A fast check between step passes: the present load against the capacity set (warming instances and a
    /// pending action included) — the target-tracking floor — raised through `decide`'s scale-up limits. It only
    /// ever adds: nil when the present load needs no more than is set, is not fresh, or the policy is suspended,
    /// so it cannot scale in, act twice for one need (the second check finds the capacity set), or undo a step
    /// decision (its recommendation joins the stabilization window, so the next step pass keeps it).
    public static func fastCheck(
        spec: PolicySpec, generation: Int, observation: Observation, previous: PolicyStatus, memory: PolicyMemory?,
        policy: String = ""
    ) -> StepResult? {
        let now = observation.now
        guard !spec.suspend, let latest = observation.latest,
            now.timeIntervalSince(latest.time) <= spec.staleAfterSeconds
        else { return nil }
        var reactive = spec
        reactive.mode = .reactive
        var memory = memory ?? PolicyMemory(seeding: previous, now: now)
        var status = previous
        var events: [EventIntent] = []
        resolvePending(&status, capacity: observation.capacity, events: &events)
        // Checks see capacity come into service every few seconds: the lead time is timed here too (and written
        // when a measurement completes).
        let measured = memory.leadTime.samples
        memory.leadTime.observe(observation.capacity, at: now)
        if memory.leadTime.samples != measured { setLeadTime(&status, spec: spec, tracker: memory.leadTime) }
        var plan = decide(
            DecisionInput(
                now: now, currentCapacity: observation.capacity.desired, currentLoad: latest.load, forecast: [],
                modelProblem: nil, events: [], lastScaleUp: status.lastScaleUpTime,
                lastScaleDown: status.lastScaleDownTime, recommendations: memory.recommendations),
            policy: reactive)
        guard case .scale(let to) = plan.action, to > observation.capacity.desired else {
            // Nothing to add; a pending action the target shows is still confirmed (and its Event is due), a
            // measured lead time recorded.
            guard status != previous else { return nil }
            var held = plan
            held.action = .hold
            held.desired = observation.capacity.desired
            return StepResult(
                plan: held, status: status, memory: memory, events: events, forecast: [], currentLoad: latest.load)
        }
        memory.remember(plan.recommendation, at: now, window: spec.stabilizationWindowSeconds)
        memory.leadTime.raised(to: to, at: now)
        plan.reason = .presentLoadAboveTarget
        setDecisionFields(
            &status, spec: spec, generation: generation, observation: observation, plan: plan, policy: policy)
        status.mode = previous.mode ?? status.mode
        return StepResult(
            plan: plan, status: status, memory: memory, events: events, forecast: [], currentLoad: latest.load)
    }

    /// `status.leadTime`: the lead time decisions use (as set, learned or the default) and the measured samples.
    static func setLeadTime(_ status: inout PolicyStatus, spec: PolicySpec, tracker: LeadTimeTracker) {
        status.leadTime = PolicyStatus.LeadTime(
            seconds: Int(spec.leadTime(learned: tracker).leadTimeSeconds.rounded()),
            source: spec.leadTimeSource(tracker),
            samples: tracker.samples.isEmpty ? nil : tracker.samples.map { Int($0.rounded()) })
    }

    /// The model's part of a pass: which model, what is wrong with it, and its forecast, calibrated online.
    struct ModelOutcome {
        var loaded: LoadedModel?
        var problem: (problem: ModelProblem, message: String)?
        var forecast: [ForecastPoint] = []
    }

    static func modelForecast(
        spec: PolicySpec, observation: Observation, history: [LoadSample], fresh: Bool, memory: inout PolicyMemory
    ) -> ModelOutcome {
        let model: LoadedModel
        switch observation.model {
        case .notConfigured:
            return ModelOutcome(problem: (.noModel, "spec.model.artefact is not set"))
        case .unavailable(let problem, let message):
            return ModelOutcome(problem: (problem, message))
        case .loaded(let loaded):
            model = loaded
        }
        var outcome = ModelOutcome(loaded: model)
        let now = observation.now
        let provided = spec.inputs.map(\.name)
        let missing = model.forecaster.header.requiredInputs.filter { !provided.contains($0) }
        if !missing.isEmpty {
            outcome.problem = (
                .inputsMissing,
                "the model reads \(missing.joined(separator: ", ")), which spec.metrics.inputs does not provide"
                    + (provided.isEmpty ? "" : " (it gives \(provided.joined(separator: ", ")))")
            )
        } else {
            outcome.problem = Forecast.health(
                of: model.forecaster.header, spec: spec, now: now.addingTimeInterval(-observation.timeShift))
        }
        if outcome.problem == nil, fresh {
            do {
                outcome.forecast = try Forecast.points(
                    model.forecaster, history: history, events: observation.calendar.events,
                    quantile: spec.quantile, inputNames: provided)
            } catch {
                outcome.problem = (.forecastFailed, "\(error)")
            }
        }
        outcome.forecast = calibrated(
            outcome.forecast, model: model, history: history, spec: spec, now: now, memory: &memory)
        return outcome
    }

    /// Online calibration: checks the forecasts whose actual has arrived, then shifts this one by the learnt offset
    /// and remembers it for its actual.
    static func calibrated(
        _ forecast: [ForecastPoint], model: LoadedModel, history: [LoadSample], spec: PolicySpec, now: Date,
        memory: inout PolicyMemory
    ) -> [ForecastPoint] {
        if memory.calibration.modelVersion != model.version {
            memory.calibration = QuantileTracker()
            memory.calibration.modelVersion = model.version
        }
        memory.calibration.observe(history, quantile: spec.quantile, tolerance: spec.stepSeconds / 2)
        guard !forecast.isEmpty else { return forecast }
        let offset = memory.calibration.offset
        // The whole distribution moves: the band stays around the forecast.
        let shifted = forecast.map { point in
            var point = point
            point.value = max(0, point.value + offset)
            point.median = max(0, point.median + offset)
            point.low = max(0, min(point.low + offset, point.value))
            point.high = max(point.high + offset, point.value)
            return point
        }
        if let lead = ForecastPoint.acting(in: shifted, now: now, spec: spec) {
            memory.calibration.expect(lead.value, at: lead.time)
        }
        return shifted
    }

    /// The decision fields of status, and the pending action a scale plan records before it acts.
    static func setDecisionFields(
        _ status: inout PolicyStatus, spec: PolicySpec, generation: Int, observation: Observation, plan: Plan,
        policy: String
    ) {
        let now = observation.now
        status.observedGeneration = generation
        status.currentCapacity = observation.capacity.desired
        status.inServiceCapacity = observation.capacity.inService
        status.desiredCapacity = plan.desired
        status.mode = plan.basis.rawValue
        status.targetRef = "\(spec.targetKind.rawValue)/\(spec.targetName)"
        status.replicas = "\(observation.capacity.desired)/\(plan.desired)"
        if case .scale(let to) = plan.action {
            status.pendingAction = ScalingAction(
                id: actionID(policy: policy, generation: generation, now: now, to: to),
                from: observation.capacity.desired,
                to: to,
                reason: plan.reason.description, time: now)
        }
    }

    /// The served model in status, and an Event when a new version replaced the one before.
    static func setModel(
        _ status: inout PolicyStatus, spec: PolicySpec, loaded: LoadedModel?, events: inout [EventIntent]
    ) {
        guard spec.mode.usesModel, let loaded else {
            status.model = nil
            return
        }
        let header = loaded.forecaster.header
        let previousVersion = status.model?.version
        status.model = PolicyStatus.Model(
            artefact: loaded.artefact, version: loaded.version, trainedAt: header.createdAt,
            loadedAt: loaded.loadedAt,
            holdoutMAE: header.testMetrics.map { rounded(Double($0.mae), 3) }, baseline: "seasonal_naive",
            baselineMAE: header.baselineMetrics["seasonal_naive"].map { rounded(Double($0.mae), 3) },
            served: header.selection?.served ?? "lstm",
            selection: header.selection.map {
                "lowest p\(Int(($0.quantile * 100).rounded())) pinball loss on \($0.origins) rolling origins: \($0.summary)"
            })
        if let previousVersion, previousVersion != loaded.version {
            events.append(
                EventIntent(
                    type: .normal, reason: .modelLoaded, action: .reconcile,
                    note: "model \(loaded.version) replaces \(previousVersion)"))
        }
    }

    static func setConditions(
        _ conditions: inout Conditions, spec: PolicySpec, observation: Observation, plan: Plan, model: ModelOutcome,
        metrics: (fresh: Bool, latest: Date?)
    ) {
        let calendarProblem: String? = if case .unreadable(let message) = observation.calendar { message } else { nil }
        let badModel = model.problem.flatMap { [.corrupt, .unsupported].contains($0.problem) ? $0 : nil }
        if let metricsProblem = observation.metricsProblem, metricsProblem.needsAttention {
            conditions.set(.ready, false, .metrics(metricsProblem.reason), metricsProblem.message)
        } else if let calendarProblem {
            conditions.set(.ready, false, .failure(.calendarUnreadable), calendarProblem)
        } else if let badModel {
            conditions.set(
                .ready, false, .model(badModel.problem),
                "falling back to Reactive target tracking: \(badModel.message)")
        } else {
            conditions.set(.ready, true, .reconciled, "decisions use the \(plan.basis.rawValue) rule")
        }
        if spec.mode.usesModel {
            setModelConditions(&conditions, spec: spec, plan: plan, model: model, fresh: metrics.fresh)
        } else {
            conditions.remove(.modelReady)
            conditions.remove(.fallback)
        }
        if let metricsProblem = observation.metricsProblem {
            conditions.set(
                .metricsAvailable, false, .metrics(metricsProblem.reason),
                "\(metricsProblem.message); scale-in is suspended")
        } else {
            // The newest datapoint's own time gives its real age and stays the same while nothing new comes (quiet).
            let fresh = metrics.fresh
            let message =
                if fresh {
                    "the latest datapoint is within \(Int(spec.staleAfterSeconds)) s"
                } else if let latest = metrics.latest {
                    "the latest datapoint is from \(Timestamps.format(latest)), older than "
                        + "\(Int(spec.staleAfterSeconds)) s; scale-in is suspended"
                } else {
                    "no datapoint newer than \(Int(spec.staleAfterSeconds)) s; scale-in is suspended"
                }
            conditions.set(
                .metricsAvailable, fresh, fresh ? .metricsFresh : (metrics.latest != nil ? .metricsStale : .noMetrics),
                message)
        }
        let limited = plan.limits.filter { $0 != .calendarPrewarm && $0 != .tolerance }
        conditions.set(
            .scalingLimited, !limited.isEmpty, limited.first.map { .limit($0) } ?? .notLimited,
            limited.isEmpty
                ? "the desired capacity is within every limit"
                : "limited by \(limited.map(\.rawValue).joined(separator: ", "))",
            goodWhenTrue: false, reportsFlips: false)
    }

    static func setModelConditions(
        _ conditions: inout Conditions, spec: PolicySpec, plan: Plan, model: ModelOutcome, fresh: Bool
    ) {
        if let problem = model.problem {
            // The Fallback condition carries the Event (the same problem, said once).
            conditions.set(.modelReady, false, .model(problem.problem), problem.message, reportsFlips: false)
        } else {
            conditions.set(
                .modelReady, true, .modelLoaded, model.loaded.map { "model \($0.version) loaded" } ?? "model loaded",
                reportsFlips: false)
        }
        if let fallback = plan.fallback {
            let message =
                model.problem?.message
                ?? (fresh ? "the model gave no forecast within the lead time" : "no fresh metrics to forecast from")
            conditions.set(
                .fallback, true, .model(fallback), "falling back to Reactive target tracking: \(message)",
                goodWhenTrue: false)
        } else {
            conditions.set(
                .fallback, false, .usingModel, "decisions use the \(spec.mode.rawValue) rule", goodWhenTrue: false)
        }
    }

    /// Observation fields: with any real change; else at most every refresh interval, and then only when what
    /// `kubectl get` shows of them moved (a steady policy stays quiet).
    static func refreshObservation(
        _ status: inout PolicyStatus, previous: PolicyStatus, memory: inout PolicyMemory, spec: PolicySpec,
        observation: Observation, plan: Plan, forecast: [ForecastPoint], currentLoad: Double?
    ) {
        let now = observation.now
        let decisionChanged = decisionFields(status) != decisionFields(previous)
        guard
            decisionChanged
                || memory.observedAt.map({ now.timeIntervalSince($0) >= observationRefreshSeconds || $0 > now }) ?? true
        else { return }
        memory.observedAt = now
        var observed = status
        observed.currentLoad = currentLoad.map { rounded($0, 2) }
        observed.currentUtilization = currentLoad.map {
            rounded($0 / Double(max(1, observation.capacity.inService)), 1)
        }
        let utilization = observed.currentUtilization.map { "\($0.wholeNumberText)%" } ?? "<unknown>"
        observed.loadVsTarget = "\(utilization)/\(Int(spec.targetUtilization.rounded()))%"
        observed.forecastSummary = plan.forecastLoad.map { load in
            let perInstance = (load / Double(max(1, observation.capacity.desired))).wholeNumberText
            let horizon = Self.minutes(spec.actingHorizon)
            return "\(perInstance)% in \(horizon) (p\(Int((spec.quantile * 100).rounded())))"
        }
        observed.lastForecast = plan.forecastLoad.map { load in
            PolicyStatus.LastForecast(
                time: now, load: rounded(load, 2), quantile: spec.quantile,
                leadTimeSeconds: Int(spec.leadTimeSeconds),
                points: forecast.prefix(spec.horizonSteps).map {
                    .init(time: $0.time, value: rounded($0.value, 2), median: rounded($0.median, 2))
                })
        }
        observed.recommendations = memory.recommendations
        let shownMoved =
            observed.loadVsTarget != previous.loadVsTarget || observed.forecastSummary != previous.forecastSummary
            || (observed.lastForecast == nil) != (previous.lastForecast == nil)
        if decisionChanged || shownMoved { status = observed }
    }

    /// After the target accepted `status.pendingAction`: it becomes the last action, its
    /// cooldown starts, and the scaling Event is due. The controller calls this after a
    /// successful set (`execute`); `run` calls it when a later pass finds the target already there.
    static func confirm(_ status: inout PolicyStatus, events: inout [EventIntent], forecastNote: String = "") {
        guard let action = status.pendingAction else { return }
        status.pendingAction = nil
        status.lastAction = action
        status.lastActionSummary = "\(action.from)→\(action.to) \(action.reason)"
        status.currentCapacity = action.to
        if let desired = status.replicas?.split(separator: "/").last { status.replicas = "\(action.to)/\(desired)" }
        if action.to > action.from {
            status.lastScaleUpTime = action.time
        } else {
            status.lastScaleDownTime = action.time
        }
        events.append(
            EventIntent(
                type: .normal, reason: action.to > action.from ? .scaledUp : .scaledDown, action: .scale,
                note: "capacity \(action.from) -> \(action.to): \(action.reason)\(forecastNote)"))
    }

    /// A pending action from an earlier pass: applied if the target shows its capacity
    /// (confirm it), otherwise it never took effect (drop it: no cooldown, decide again).
    static func resolvePending(_ status: inout PolicyStatus, capacity: CapacityState, events: inout [EventIntent]) {
        guard let pending = status.pendingAction else { return }
        if capacity.desired == pending.to {
            confirm(&status, events: &events)
        } else {
            status.pendingAction = nil
        }
    }

    /// The status of a policy whose pass failed before `decide` (invalid spec, target or
    /// API unavailable): Ready=False with the reason, and a Warning Event when it flips.
    public static func failed(
        previous: PolicyStatus, generation: Int, now: Date, reason: FailureReason, message: String
    ) -> (
        status: PolicyStatus, events: [EventIntent]
    ) {
        var status = previous
        status.observedGeneration = generation
        var conditions = Conditions(status.conditionList, generation: generation, now: now)
        conditions.set(.ready, false, .failure(reason), message)
        status.conditions = conditions.list
        return (status, conditions.flips)
    }

    /// The fields whose change is a real change (and so refreshes the observation fields).
    static func decisionFields(_ status: PolicyStatus) -> PolicyStatus {
        var copy = status
        copy.currentLoad = nil
        copy.currentUtilization = nil
        copy.loadVsTarget = nil
        copy.forecastSummary = nil
        copy.lastForecast = nil
        copy.recommendations = nil
        return copy
    }

    /// "10m", "90s", "2h".
    static func minutes(_ seconds: Double) -> String {
        if seconds < 120 { return "\(Int(seconds))s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded()))m" }
        return "\(Int((seconds / 3600).rounded()))h"
    }

    /// A stable id for an action (the same decision retried keeps it).
    static func actionID(policy: String, generation: Int, now: Date, to: Int) -> String {
        let decision = "g\(generation)-\(Int64(now.timeIntervalSince1970.rounded(.down)))-\(to)"
        return policy.isEmpty ? decision : "\(policy.prefix(64))-\(decision)"
    }

    static func rounded(_ value: Double, _ digits: Int) -> Double {
        let scale = digits == 3 ? 1000.0 : digits == 2 ? 100.0 : 10.0
        return (value * scale).rounded() / scale
    }
}

/// Sets conditions as API conventions ask (lastTransitionTime moves only on a flip,
/// observedGeneration on each) and collects the flips worth an Event.
struct Conditions {
    private(set) var list: [Condition]
    private(set) var flips: [EventIntent] = []
    let generation: Int
    let now: Date

    init(_ list: [Condition], generation: Int, now: Date) {
        self.list = list
        self.generation = generation
        self.now = now
    }

    /// `goodWhenTrue`: which status is healthy (Fallback and ScalingLimited are bad when True).
    /// A condition's first appearance in its healthy state is not an Event.
    mutating func set(
        _ type: ConditionType, _ value: Bool, _ reason: ConditionReason, _ message: String, goodWhenTrue: Bool = true,
        reportsFlips: Bool = true
    ) {
        let condition = Condition(
            type: type.rawValue, status: value ? .true : .false, observedGeneration: generation,
            lastTransitionTime: now,
            reason: reason.description, message: Self.bounded(message))
        guard case .transitioned(let from, _) = list.set(condition), reportsFlips, from != nil || value != goodWhenTrue
        else { return }
        let healthy = value == goodWhenTrue
        // One problem flipping two conditions (a corrupt model: Ready and Fallback) is one Event.
        guard !flips.contains(where: { $0.reason == .condition(reason) && $0.type == (healthy ? .normal : .warning) })
        else {
            return
        }
        flips.append(
            EventIntent(
                type: healthy ? .normal : .warning, reason: .condition(reason), action: .reconcile,
                note: "\(type.rawValue) is \(condition.status.rawValue): \(message)"))
    }

    mutating func remove(_ type: ConditionType) {
        list.removeAll { $0.type == type.rawValue }
    }

    /// A message longer than the CRD allows (an error that quotes a large answer) keeps its start and says it was
    /// cut, so the status write is never refused for it.
    static func bounded(_ message: String) -> String {
        let maxMessageLength = PolicyStatus.maxConditionMessageLength
        guard message.unicodeScalars.count > maxMessageLength else { return message }
        let marker = " … (cut)"
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: message.unicodeScalars.prefix(maxMessageLength - marker.unicodeScalars.count))
        return String(scalars) + marker
    }
}
