import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Synchronization

/// What a reconcile asks for next (kube-rs `Action`): look again after a delay, or only
/// when the policy changes. A thrown error is a rate-limited retry.
public enum ReconcileOutcome: Sendable, Equatable {
    case requeue(after: Duration)
    case awaitChange
}

/// The ScalingPolicy controller: informer → work queue → workers → reconcile. A reconcile
/// is I/O around the pure `Step.run`: observe (target, metrics, model, calendar), step,
/// record the decision, act, confirm, write status when it changed, emit Events, log.
/// Level-based: each pass reads the policy from the cache and the world from the target.
public final class Controller: Sendable {
    public struct Configuration: Sendable {
        public var namespace: String?
        public var workers = 2
        /// Virtual seconds per real second (the demo replays 5-minute steps each second).
        public var speed: Double = 1
        public var reportingInstance = ProcessInfo.processInfo.hostName
        /// Reconciles kept per policy for the dashboard (288 = a day of 5-minute steps), and
        /// the memory all policies' samples may take (with many policies each keeps fewer).
        public var historySamples = 288
        public var historyMemoryBudget = 64 << 20
        /// Requeues are spread over this fraction of a step, so policies do not reconcile
        /// (and query their metrics sources) in one burst.
        public var requeueJitter = 0.1
        /// Per-instance utilisation above which the dashboard counts an interval overloaded
        /// (as `backtest --slo`).
        public var sloUtilization = 80.0
        /// `/readyz` fails after this long without a successful API call (`/healthz` after
        /// twice this long of refused credentials).
        public var apiFailureGrace: Duration = .seconds(30)
        /// API failures are logged as one line per kind this often.
        public var failureLogInterval: Duration = .seconds(10)
        /// What one pass may spend observing the world outside the API server (target, metrics, model): past
        /// it the pass is cancelled and reported, so a slow source cannot hold a worker.
        public var observeDeadline: Duration = .seconds(45)
        /// The shortest interval between a policy's fast checks, whatever its spec asks (virtual seconds).
        public var minFastCheckSeconds = 5.0
        public init(namespace: String? = nil) { self.namespace = namespace }
    }

    public let client: KubernetesClient
    private var policies: TypedClient<ScalingPolicy> { TypedClient(client) }
    public let configuration: Configuration
    public let targets: TargetRegistry
    public let models: ModelRegistry
    public let metrics = ControllerMetrics()
    /// What the dashboard charts.
    public let history: PolicyHistory
    public let queue: WorkQueue<String>
    public let informer: Informer
    let recorder: EventRecorder
    let log: Logger
    /// Wall (or virtual) time for decisions and status; `elapsed` measures durations.
    let now: @Sendable () -> Date
    private let elapsed: @Sendable () -> Duration
    /// Per policy: the status this process last wrote (the cache may not show its own
    /// writes yet) and the step memory, tied to the policy's uid.
    private let known = Mutex<[String: (uid: String, status: PolicyStatus, memory: PolicyMemory)]>([:])
    /// Events are sent by one background task, in order, so a reconcile never waits on
    /// them (client-go's recorder is asynchronous too); `flushEvents()` waits for the backlog.
    private let eventSends: AsyncStream<@Sendable () async -> Void>.Continuation
    private let pendingEvents = PendingCount()

    public init<C: Clock>(
        client: KubernetesClient, configuration: Configuration, targets: TargetRegistry,
        models: ModelRegistry = ModelRegistry(),
        clock: C, now: @escaping @Sendable () -> Date, log: Logger = Logger()
    ) where C.Duration == Duration {
        self.client = client
        self.configuration = configuration
        self.targets = targets
        self.models = models
        self.now = now
        self.log = log
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
        history = PolicyHistory(
            sampleLimit: max(1, configuration.historySamples), memoryBudget: configuration.historyMemoryBudget)
        recorder = EventRecorder(
            client: client, reportingController: "forescale.io/controller",
            reportingInstance: configuration.reportingInstance, clock: clock, wallTime: now)
        let queue = WorkQueue<String>(clock: clock)
        self.queue = queue
        let (stream, continuation) = AsyncStream<@Sendable () async -> Void>.makeStream()
        eventSends = continuation
        Task { for await send in stream { await send() } }
        informer = Informer(
            client: client, resource: .scalingPolicies, options: .init(namespace: configuration.namespace)
        ) { event in
            // controller-runtime's GenerationChangedPredicate: our own status writes (and any
            // metadata-only change) do not trigger a reconcile; the requeue timer paces them.
            if case .updated(let old, let new) = event,
                old.value(at: ["metadata", "generation"]) == new.value(at: ["metadata", "generation"]),
                old.value(at: ["metadata", "deletionTimestamp"]) == new.value(at: ["metadata", "deletionTimestamp"])
            {
                return
            }
            queue.add(event.key)
        }
    }

    public convenience init(
        client: KubernetesClient, configuration: Configuration, targets: TargetRegistry,
        models: ModelRegistry = ModelRegistry(),
        now: @escaping @Sendable () -> Date, log: Logger = Logger()
    ) {
        self.init(
            client: client, configuration: configuration, targets: targets, models: models, clock: ContinuousClock(),
            now: now, log: log)
    }

    deinit { eventSends.finish() }

    /// Waits until every Event emitted so far has been sent (or failed).
    public func flushEvents() async {
        while pendingEvents.value > 0 { try? await Task.sleep(for: .milliseconds(2)) }
    }

    /// Why `/readyz` should fail, if it should: not synced yet, or nothing has got through
    /// to the API server for `apiFailureGrace`.
    public func readinessProblem() -> String? {
        if !informer.hasSynced { return "informer not synced" }
        let health = client.health
        if health.failing(for: configuration.apiFailureGrace.seconds) {
            return "no API call has succeeded for \(Int(configuration.apiFailureGrace.seconds)) s: "
                + (health.snapshot.lastFailure ?? "")
        }
        return nil
    }

    /// Why `/healthz` should fail: the credentials have been refused for twice the grace
    /// (a restart re-reads a rotated token; other failures are the network's, not ours).
    public func livenessProblem() -> String? {
        let grace = 2 * configuration.apiFailureGrace.seconds
        guard let since = client.health.snapshot.unauthorizedSince, Date().timeIntervalSince(since) >= grace,
            client.health.failing(for: grace)
        else { return nil }
        return "the API server has refused the credentials for \(Int(2 * configuration.apiFailureGrace.seconds)) s"
    }

    /// Runs the informer and the workers until cancelled; in-flight reconciles finish first.
    public func run() async {
        let informerTask = Task { await informer.run() }
        // API failures are summarised every `failureLogInterval`, not logged per call.
        let failureLog = Task { [client, log, configuration] in
            while !Task.isCancelled {
                try? await Task.sleep(for: configuration.failureLogInterval)
                for failure in client.health.takeFailures() {
                    log.warning(
                        "API calls failed",
                        [
                            "kind": failure.kind, "count": String(failure.count),
                            "interval": Logger.seconds(configuration.failureLogInterval), "last": failure.message,
                        ])
                }
            }
        }
        defer { failureLog.cancel() }
        // Cancellation-aware wait for the first list (a replica may lose its lease before).
        while !informer.hasSynced && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<configuration.workers {
                group.addTask { [self] in
                    while let key = await queue.get() { await process(key) }
                }
            }
            await withTaskCancellationHandler {
                await group.waitForAll()
            } onCancel: {
                queue.shutDown()
            }
        }
        informerTask.cancel()
        await informerTask.value
        await flushEvents()
    }

    private func process(_ key: String) async {
        let started = elapsed()
        do {
            let outcome = try await reconcile(key)
            queue.forget(key)
            if case .requeue(let after) = outcome { queue.add(key, after: after) }
            metrics.recordReconcile(seconds: (elapsed() - started).seconds, error: nil)
        } catch {
            let reason = Self.errorReason(error)
            metrics.recordReconcile(seconds: (elapsed() - started).seconds, error: reason)
            log.error(
                "reconcile failed; retrying with backoff",
                ["policy": key, "reason": reason, "error": "\(error)", "duration": Logger.seconds(elapsed() - started)])
            // A server that said when to come back (429/503 Retry-After) is not asked sooner
            // (at most ten minutes: the header is the server's, not ours to trust blindly).
            let retryAfter = (error as? KubeError)?.retryAfter.map { min($0, .seconds(600)) } ?? .zero
            queue.addRateLimited(key, notBefore: retryAfter)
        }
        queue.done(key)
    }

    static func errorReason(_ error: Error) -> String {
        guard let error = error as? KubeError else { return "TargetError" }
        switch error {
        case .conflict: return "Conflict"
        case .notFound: return "NotFound"
        case .transport: return "Transport"
        case .tooManyRequests: return "Throttled"
        default: return "APIError"
        }
    }

    // MARK: Reconcile

    /// One pass for `namespace/name`.
    public func reconcile(_ key: String) async throws -> ReconcileOutcome {
        guard let policy = informer.cache.get(key) else {
            forget(key)
            return .awaitChange
        }
        return try await reconcile(ScalingPolicy(json: policy))
    }

    /// A deleted policy leaves nothing behind: metrics, chart history, binding, memory.
    func forget(_ key: String) {
        metrics.forget(key)
        history.forget(key)
        targets.forget(key)
        models.release(key)
        _ = known.withLock { $0.removeValue(forKey: key) }
    }

    public func reconcile(policy object: JSONValue) async throws -> ReconcileOutcome {
        try await reconcile(ScalingPolicy(json: object))
    }

    func reconcile(_ policy: ScalingPolicy) async throws -> ReconcileOutcome {
        let started = elapsed()
        guard !policy.isDeleting else { return .awaitChange }
        let at = now()
        let (previous, memory) = knownState(policy)

        let spec: PolicySpec
        switch policy.spec {
        case .failure(let invalid):
            // Terminal: a condition and an Event, no retry loop.
            try await recordFailure(
                policy, previous: previous, reason: .invalidSpec, message: invalid.description, at: at,
                started: started)
            return .awaitChange
        case .success(let parsed):
            spec = parsed
        }

        // The tenant's word meets the operator's before any call: a denied policy makes none, and is looked
        // at again each step (a rule may be added meanwhile).
        // The rules as this pass reads them (one look at the file per pass).
        let rules = targets.access.rules
        if let denied = rules.denial(namespace: policy.namespace, name: policy.name, spec: spec) {
            targets.forget(policy.key)
            models.release(policy.key)
            try await recordFailure(
                policy, previous: previous, reason: .accessDenied, message: denied.message, at: at, started: started)
            return .requeue(after: requeueDelay(spec))
        }

        // Between step passes a fast check — unless the spec changed since the last pass (a new generation is
        // decided whole, at once).
        if let memory, let stepPassAt = memory.stepPassAt, at >= stepPassAt,
            at < stepPassAt.addingTimeInterval(spec.stepSeconds), previous.observedGeneration == policy.generation
        {
            return try await fastCheck(policy, spec: spec, previous: previous, memory: memory, at: at, started: started)
        }

        let binding: TargetRegistry.Binding
        let observation: Observation
        do {
            (binding, observation) = try await Deadline.run(within: configuration.observeDeadline) { [self] in
                let binding = try await targets.binding(for: policy.key, namespace: policy.namespace, spec: spec)
                let artefact = rules.artefact(namespace: policy.namespace, name: policy.name, spec: spec)
                return (binding, try await observe(spec, policy, binding: binding, artefact: artefact, at: at))
            }
        } catch let error as KubeError where !error.isTargetFailure {
            throw error
        } catch let denied as AccessDenied {
            try await recordFailure(
                policy, previous: previous, reason: .accessDenied, message: denied.message, at: at, started: started)
            return .requeue(after: requeueDelay(spec))
        } catch {
            // The world outside the API server (target, metrics, AWS): visible on the policy,
            // looked at again next step rather than after a growing backoff.
            try await recordFailure(
                policy, previous: previous, reason: .targetUnavailable, message: "\(error)", at: at, started: started)
            return .requeue(after: requeueDelay(spec))
        }

        let result = Step.run(
            spec: spec, generation: policy.generation, observation: observation, previous: previous, memory: memory,
            policy: policy.uid)
        let (status, outcome) = try await Step.execute(
            result, previous: previous, spec: spec, generation: policy.generation, now: at,
            on: Effects(controller: self, policy: policy, target: binding.target))
        logOutcome(outcome, status: status, policy: policy, plan: result.plan, started: started)
        if case .scalingFailed = outcome { return .requeue(after: requeueDelay(spec)) }
        record(
            policy.key, spec: spec, observation: observation, result: result, status: status,
            timeShift: binding.metrics.timeShift)
        // A failing source is looked at again next step (as ever); a live one at the fast-check interval — which,
        // without a fresh load yet (a new series), makes the next pass a whole one.
        return .requeue(
            after: requeueDelay(
                spec, fastChecks: binding.metrics.refreshesWithinStep && observation.metricsProblem == nil))
    }

    /// One line per action, refused action and failed pass.
    private func logOutcome(
        _ outcome: PassOutcome, status: PolicyStatus, policy: ScalingPolicy, plan: Plan, started: Duration
    ) {
        let duration = Logger.seconds(elapsed() - started)
        switch outcome {
        case .scalingFailed(let to, let error):
            log.error("scaling failed", ["policy": policy.key, "to": String(to), "error": error, "duration": duration])
            return
        case .scaled(let from, let to):
            log.info(
                "scaled",
                [
                    "policy": policy.key, "from": String(from), "to": String(to), "reason": plan.reason.description,
                    "duration": duration,
                ])
        case .held:
            break
        }
        if let ready = status.conditionList.condition(.ready), ready.status != .true {
            log.warning(
                "reconcile failed",
                ["policy": policy.key, "reason": ready.reason, "error": ready.message, "duration": duration])
        }
    }

    /// A pass's effects on this controller's world: status through the API server, the bound target, Events
    /// through the recorder.
    private struct Effects: PassEffects {
        let controller: Controller
        let policy: ScalingPolicy
        let target: any ScalingTarget

        func writeStatus(_ status: PolicyStatus, replacing old: PolicyStatus, memory: PolicyMemory) async throws {
            try await controller.writeStatus(policy, status, replacing: old, memory: memory)
        }

        func setCapacity(_ capacity: Int, at: Date, actionID: String) async throws {
            try await target.setCapacity(capacity, at: at, actionID: actionID)
        }

        func emit(_ events: [EventIntent]) async { controller.emit(policy.reference, events) }
    }

    /// Target, capacity, model, history and calendar, as this pass sees them.
    private func observe(
        _ spec: PolicySpec, _ policy: ScalingPolicy, binding: TargetRegistry.Binding, artefact: String?, at: Date
    ) async throws -> Observation {
        let capacity = try await binding.target.capacity(at: at)
        guard capacity.isPlausible else {
            throw TargetError.unsupported(
                "the target reports capacity \(capacity.desired) (\(capacity.inService) in service)")
        }
        let model = spec.mode.usesModel ? await models.observe(artefact, for: policy.key, now: at) : .notConfigured
        var header: ModelHeader?
        if case .loaded(let loaded) = model { header = loaded.forecaster.header }
        // A metrics source that fails is not a failed reconcile: the metrics are unavailable
        // (no scale-in), the condition says why, and the next step looks again.
        var history: [LoadSample] = []
        var newest: LoadSample?
        var metricsProblem: MetricsProblem?
        do {
            history = try await binding.metrics.loadHistory(
                until: at, steps: Observation.historySteps(for: header))
            newest = try await binding.metrics.newest(at: at)
        } catch let problem as MetricsProblem {
            metricsProblem = problem
        } catch {
            metricsProblem = MetricsProblem(reason: .metricsUnavailable, message: "\(error)", needsAttention: false)
        }
        return Observation(
            now: at, capacity: capacity, history: history, model: model,
            calendar: await calendar(spec, namespace: policy.namespace), timeShift: binding.metrics.timeShift,
            metricsProblem: metricsProblem, newest: newest)
    }

    /// A policy's calendar events, for the dashboard (none when it has no readable calendar).
    func calendarEvents(_ policy: ScalingPolicy) async -> [CalendarEvent] {
        guard case .success(let spec) = policy.spec,
            case .events(let events) = await calendar(spec, namespace: policy.namespace)
        else { return [] }
        return events
    }

    private func calendar(_ spec: PolicySpec, namespace: String) async -> CalendarObservation {
        guard let name = spec.calendarConfigMap else { return .notConfigured }
        do {
            return .events(try await CalendarConfigMap.events(client, namespace: namespace, spec: spec))
        } catch let error as CalendarConfigMap.ReadError {
            return .unreadable(error.description)
        } catch {
            return .unreadable("calendar ConfigMap \(name): \(error)")
        }
    }

    /// Ready=False with the reason (and an Event when it flips), one log line.
    private func recordFailure(
        _ policy: ScalingPolicy, previous: PolicyStatus, reason: FailureReason, message: String, at: Date,
        started: Duration
    ) async throws {
        let failure = Step.failed(
            previous: previous, generation: policy.generation, now: at, reason: reason, message: message)
        try await writeStatus(policy, failure.status, replacing: previous, memory: nil)
        emit(policy.reference, failure.events)
        log.error(
            "reconcile failed",
            [
                "policy": policy.key, "reason": reason.rawValue, "error": message,
                "duration": Logger.seconds(elapsed() - started),
            ])
    }

    /// The status and memory to step from: this process's own record when it has one for
    /// this object (uid), else the stored status.
    private func knownState(_ policy: ScalingPolicy) -> (PolicyStatus, PolicyMemory?) {
        if let record = known.withLock({ $0[policy.key] }), record.uid == policy.uid {
            return (record.status, record.memory)
        }
        return (policy.status, nil)
    }

    /// A merge patch of what changed, on /status; nothing when nothing changed.
    private func writeStatus(
        _ policy: ScalingPolicy, _ status: PolicyStatus, replacing old: PolicyStatus, memory: PolicyMemory?
    ) async throws {
        if let patch = status.mergePatch(from: old) { try await policies.patchStatus(of: policy, patch) }
        known.withLock { known in
            known[policy.key] = (
                policy.uid, status,
                memory ?? known[policy.key].flatMap { $0.uid == policy.uid ? $0.memory : nil } ?? PolicyMemory()
            )
        }
    }

    private func emit(_ regarding: ObjectReference, _ events: [EventIntent]) {
        for event in events {
            pendingEvents.add(1)
            let recorder = self.recorder
            let pending = self.pendingEvents
            eventSends.yield {
                await recorder.record(
                    regarding: regarding, type: event.type == .warning ? .warning : .normal,
                    reason: event.reason.description,
                    action: event.action.rawValue, note: event.note)
                pending.add(-1)
            }
        }
    }

    /// A fast check between step passes (`Step.fastCheck`): the target's capacity and the source's newest load
    /// only — no history, model or calendar — and an action only when the present load needs more than is set.
    /// A failure here is left to the next step pass to report.
    private func fastCheck(
        _ policy: ScalingPolicy, spec: PolicySpec, previous: PolicyStatus, memory: PolicyMemory, at: Date,
        started: Duration
    ) async throws -> ReconcileOutcome {
        let untilStep = (memory.stepPassAt ?? at).addingTimeInterval(spec.stepSeconds).timeIntervalSince(at)
        // fastCheckSeconds 0: only steps (a pass woken between them — a watch event — waits for the step).
        guard spec.fastCheckSeconds > 0 else { return .requeue(after: requeueDelay(spec, seconds: untilStep)) }
        do {
            let (binding, observation) = try await Deadline.run(within: configuration.observeDeadline) { [self] in
                let binding = try await targets.binding(for: policy.key, namespace: policy.namespace, spec: spec)
                guard binding.metrics.refreshesWithinStep else { return (binding, Observation?.none) }
                let capacity = try await binding.target.capacity(at: at)
                guard capacity.isPlausible else { return (binding, nil) }
                let newest = try await binding.metrics.newest(at: at)
                return (binding, Observation(now: at, capacity: capacity, history: [], newest: newest))
            }
            guard let observation else { return .requeue(after: requeueDelay(spec, seconds: untilStep)) }
            if let result = Step.fastCheck(
                spec: spec, generation: policy.generation, observation: observation, previous: previous,
                memory: memory, policy: policy.uid)
            {
                let (status, outcome) = try await Step.execute(
                    result, previous: previous, spec: spec, generation: policy.generation, now: at,
                    on: Effects(controller: self, policy: policy, target: binding.target))
                logOutcome(outcome, status: status, policy: policy, plan: result.plan, started: started)
            }
        } catch let error as KubeError where !error.isTargetFailure {
            throw error
        } catch {
            // The next step pass observes everything again and reports what is wrong.
        }
        return .requeue(after: requeueDelay(spec, fastChecks: true, untilStep: untilStep))
    }

    /// The next pass: a fast check when the source has newer data than its step grid and the policy asks for
    /// fast checks (never sooner than `minFastCheckSeconds`), else the next step.
    func requeueDelay(_ spec: PolicySpec, fastChecks: Bool, untilStep: Double? = nil) -> Duration {
        let step = untilStep ?? spec.stepSeconds
        guard fastChecks, spec.fastCheckSeconds > 0 else { return requeueDelay(spec, seconds: step) }
        let interval = max(spec.fastCheckSeconds, configuration.minFastCheckSeconds)
        return requeueDelay(spec, seconds: min(interval, max(step, configuration.minFastCheckSeconds)))
    }

    /// One step of the policy in real time, plus up to `requeueJitter` of it.
    func requeueDelay(_ spec: PolicySpec, seconds: Double? = nil) -> Duration {
        let base = (seconds ?? spec.stepSeconds) * 1000 / max(configuration.speed, 0.001)
        let jittered = base * (1 + Double.random(in: 0...max(0, min(configuration.requeueJitter, 1))))
        return .milliseconds(Int64(min(jittered, 86_400_000)))
    }

    /// Dashboard history and Prometheus gauges.
    private func record(
        _ key: String, spec: PolicySpec, observation: Observation, result: StepResult, status: PolicyStatus,
        timeShift: TimeInterval
    ) {
        let at = observation.now
        let plan = result.plan
        let current = status.currentCapacity ?? observation.capacity.desired
        let lead = ForecastPoint.acting(in: result.forecast, now: at, spec: spec)
        let scaled = status.lastAction.flatMap { $0.time == at ? $0 : nil }
        history.record(
            key,
            PolicyHistory.Sample(
                time: at, load: result.currentLoad, forecastTime: lead?.time, forecast: lead?.value,
                median: lead?.median, low: lead?.low, high: lead?.high,
                currentCapacity: current, inServiceCapacity: observation.capacity.inService,
                desiredCapacity: plan.desired
            ), action: scaled)
        var modelAge: Double?
        if case .loaded(let model) = observation.model {
            modelAge = at.addingTimeInterval(-timeShift).timeIntervalSince(model.forecaster.header.trainingEnd)
        }
        metrics.update(key, current: current, desired: plan.desired, forecast: plan.forecastLoad, modelAge: modelAge)
    }
}

extension KubeError {
    /// Errors of the Kubernetes API that are about the target, not about us: a Deployment's
    /// /scale that does not exist or may not be read is the target's problem (a condition),
    /// while a failing API server is a retry.
    var isTargetFailure: Bool {
        switch self {
        case .notFound, .forbidden: return true
        default: return false
        }
    }
}

/// A count shared with the event-sending task.
final class PendingCount: Sendable {
    private let count = Atomic<Int>(0)
    func add(_ delta: Int) { count.add(delta, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
