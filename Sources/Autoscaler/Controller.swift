import Foundation
import Forecasting
import KubeClient
import KubeCore
import Synchronization

/// What a reconcile asks for next (kube-rs `Action`): look again after a delay, or only
/// when the policy changes. A thrown error is a rate-limited retry.
public enum ReconcileOutcome: Sendable, Equatable {
    case requeue(after: Duration)
    case awaitChange
}

/// The ScalingPolicy controller: informer → work queue → workers → reconcile
/// (observe → `decide` → act → record status and Events). Level-based: each pass reads the
/// policy from the cache and the world from the target, never the watch event.
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
        public init(namespace: String? = nil) { self.namespace = namespace }
    }

    public let client: KubernetesClient
    public let configuration: Configuration
    public let targets: TargetRegistry
    public let models: ModelRegistry
    public let metrics = ControllerMetrics()
    /// What the dashboard charts.
    public let history: PolicyHistory
    let recorder: EventRecorder
    let now: @Sendable () -> Date
    public let queue: WorkQueue<String>
    public let informer: Informer
    /// Events are sent by one background task, in order, so a reconcile never waits on
    /// them (client-go's recorder is asynchronous too); `flushEvents()` waits for the backlog.
    private let eventSends: AsyncStream<@Sendable () async -> Void>.Continuation
    private let pendingEvents = PendingCount()

    public init(client: KubernetesClient, configuration: Configuration, targets: TargetRegistry, models: ModelRegistry = ModelRegistry(), now: @escaping @Sendable () -> Date) {
        self.client = client
        self.configuration = configuration
        self.targets = targets
        self.models = models
        self.now = now
        history = PolicyHistory(sampleLimit: max(1, configuration.historySamples), memoryBudget: configuration.historyMemoryBudget)
        recorder = EventRecorder(client: client, reportingController: "forescale.io/controller", reportingInstance: configuration.reportingInstance, clock: ContinuousClock())
        let queue = WorkQueue<String>()
        self.queue = queue
        let (stream, continuation) = AsyncStream<@Sendable () async -> Void>.makeStream()
        eventSends = continuation
        Task { for await send in stream { await send() } }
        informer = Informer(client: client, resource: .scalingPolicies, options: .init(namespace: configuration.namespace)) { event in
            // controller-runtime's GenerationChangedPredicate: our own status writes (and any
            // metadata-only change) do not trigger a reconcile; the requeue timer paces them.
            if case .updated(let old, let new) = event,
               old.value(at: ["metadata", "generation"]) == new.value(at: ["metadata", "generation"]),
               old.value(at: ["metadata", "deletionTimestamp"]) == new.value(at: ["metadata", "deletionTimestamp"]) {
                return
            }
            queue.add(event.key)
        }
    }

    deinit { eventSends.finish() }

    private func emit(regarding: ObjectReference, type: EventRecorder.EventType, reason: String, action: String, note: String) {
        pendingEvents.add(1)
        let recorder = self.recorder
        let pending = self.pendingEvents
        eventSends.yield {
            await recorder.record(regarding: regarding, type: type, reason: reason, action: action, note: note)
            pending.add(-1)
        }
    }

    /// Waits until every Event emitted so far has been sent (or failed).
    public func flushEvents() async {
        while pendingEvents.value > 0 { try? await Task.sleep(for: .milliseconds(2)) }
    }

    /// Runs the informer and the workers until cancelled; in-flight reconciles finish first.
    public func run() async {
        let informerTask = Task { await informer.run() }
        // Cancellation-aware wait for the first list (a replica may lose its lease before).
        while !informer.hasSynced && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<configuration.workers {
                group.addTask { [self] in
                    while let key = await queue.get() {
                        await process(key)
                    }
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
        let started = ContinuousClock.now
        do {
            let outcome = try await reconcile(key)
            queue.forget(key)
            if case .requeue(let after) = outcome { queue.add(key, after: after) }
            metrics.recordReconcile(seconds: (ContinuousClock.now - started).seconds, error: nil)
        } catch {
            metrics.recordReconcile(seconds: (ContinuousClock.now - started).seconds, error: Self.errorReason(error))
            queue.addRateLimited(key)
        }
        queue.done(key)
    }

    static func errorReason(_ error: Error) -> String {
        if let error = error as? KubeError {
            switch error {
            case .conflict: return "Conflict"
            case .notFound: return "NotFound"
            case .transport: return "Transport"
            case .tooManyRequests: return "Throttled"
            default: return "APIError"
            }
        }
        return "TargetError"
    }

    // MARK: Reconcile

    /// One pass for `namespace/name`.
    public func reconcile(_ key: String) async throws -> ReconcileOutcome {
        guard let policy = informer.cache.get(key) else {
            metrics.forget(key)
            history.forget(key)
            return .awaitChange
        }
        return try await reconcile(policy: policy)
    }

    public func reconcile(policy object: JSONValue) async throws -> ReconcileOutcome {
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? "default"
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let key = "\(namespace)/\(name)"
        guard object.value(at: ["metadata", "deletionTimestamp"]) == nil else { return .awaitChange }
        let generation = object.value(at: ["metadata", "generation"])?.intValue ?? 0
        let reference = ObjectReference(object)
        let status = object["status"] ?? [:]
        var conditions = PolicyStatus.conditions(status)
        let at = now()

        let spec: PolicySpec
        switch PolicySpec.parse(object["spec"]) {
        case .failure(let invalid):
            // Terminal: a condition and an Event, no retry loop.
            let change = conditions.set(Condition(type: "Ready", status: .false, observedGeneration: generation, lastTransitionTime: at, reason: "InvalidSpec", message: invalid.description))
            try await writeStatus(namespace: namespace, name: name, old: status, new: PolicyStatus.with(status, conditions: conditions, observedGeneration: generation))
            if case .transitioned = change {
                emit(regarding: reference, type: .warning, reason: "InvalidSpec", action: "Validate", note: invalid.description)
            }
            return .awaitChange
        case .success(let parsed):
            spec = parsed
        }

        let binding = try await targets.binding(for: key, namespace: namespace, spec: spec)
        let capacity = try await binding.target.capacity(at: at)

        // Metrics: capacity-independent load history, fresh enough?
        var modelResult: Result<ModelRegistry.Loaded, ModelRegistry.Failure>?
        if let artefact = spec.modelArtefact { modelResult = await models.model(artefact, now: at) }
        let loaded = try? modelResult?.get()
        let historySteps = max(48, (loaded?.forecaster.header.sequenceLength ?? 24) * 2 + 12)
        let loadHistory = try await binding.metrics.loadHistory(until: at, steps: historySteps)
        let latest = loadHistory.last
        let metricsAge = latest.map { at.timeIntervalSince($0.time) }
        let fresh = metricsAge.map { $0 <= spec.staleAfterSeconds } ?? false

        // Calendar.
        var events: [CalendarEvent] = []
        var calendarProblem: String?
        if let configMap = spec.calendarConfigMap {
            do {
                let map = try await client.get(.configMaps, namespace: namespace, name: configMap)
                if let text = map.value(at: ["data", spec.calendarKey])?.stringValue {
                    do { events = try BusinessCalendar.parse(Data(text.utf8)) } catch { calendarProblem = "calendar \(configMap)/\(spec.calendarKey): \(error.description)" }
                } else {
                    calendarProblem = "calendar ConfigMap \(configMap) has no key \(spec.calendarKey)"
                }
            } catch {
                calendarProblem = "calendar ConfigMap \(configMap): \(error)"
            }
        }

        // Model health and forecast.
        var modelHealth = Observation.ModelHealth.ready
        var forecast: [Observation.ForecastPoint] = []
        if spec.mode != .reactive {
            switch modelResult {
            case nil:
                modelHealth = .unusable(reason: "NoModel", message: "spec.model.artefact is not set")
            case .failure(let failure)?:
                switch failure {
                case .missing(let message): modelHealth = .unusable(reason: "ModelMissing", message: message)
                case .corrupt(let message): modelHealth = .unusable(reason: "ModelCorrupt", message: message)
                case .unsupported(let message): modelHealth = .unusable(reason: "ModelUnsupported", message: message)
                }
            case .success(let model)?:
                modelHealth = Self.health(of: model.forecaster.header, spec: spec, now: at.addingTimeInterval(-binding.metrics.timeShift))
                if modelHealth == .ready, fresh {
                    do {
                        forecast = try Self.forecast(model.forecaster, history: loadHistory, events: events, quantile: spec.quantile)
                    } catch {
                        modelHealth = .unusable(reason: "ForecastFailed", message: "\(error)")
                    }
                }
            }
        }

        let observation = Observation(
            now: at, currentCapacity: capacity.desired, inServiceCapacity: capacity.inService,
            currentLoad: fresh ? latest?.load : nil, metricsAge: metricsAge, forecast: forecast, model: modelHealth,
            events: events.map { Observation.Event(name: $0.name, start: $0.start, end: $0.end, multiplier: $0.multiplier) },
            lastScaleUp: PolicyStatus.date(status["lastScaleUpTime"]), lastScaleDown: PolicyStatus.date(status["lastScaleDownTime"]),
            recommendations: PolicyStatus.recommendations(status)
        )
        let plan = decide(observation, policy: spec)

        // Act.
        var newStatus = status
        var scaled: (from: Int, to: Int)?
        if case .scale(let to) = plan.action {
            try await binding.target.setCapacity(to, at: at)
            scaled = (capacity.desired, to)
            newStatus["lastAction"] = ["from": .integer(Int64(capacity.desired)), "to": .integer(Int64(to)), "reason": .string(plan.reason), "time": .string(Timestamps.format(at))]
            newStatus[to > capacity.desired ? "lastScaleUpTime" : "lastScaleDownTime"] = .string(Timestamps.format(at))
        }

        // Record: conditions, status (only when changed), Events.
        var flips: [(Condition, Bool)] = []
        func set(_ type: String, _ ok: Bool, _ reason: String, _ message: String, goodWhenTrue: Bool = true) {
            let condition = Condition(type: type, status: ok ? .true : .false, observedGeneration: generation, lastTransitionTime: at, reason: reason, message: message)
            if case .transitioned(let from, _) = conditions.set(condition), from != nil || ok != goodWhenTrue {
                flips.append((condition, ok == goodWhenTrue))
            }
        }
        switch modelHealth {
        case .ready: set("ModelReady", true, loaded == nil ? "NotNeeded" : "ModelLoaded", loaded.map { "model \($0.version) loaded" } ?? "Reactive mode uses no model")
        case .unusable(let reason, let message): set("ModelReady", false, reason, message)
        }
        set("MetricsAvailable", fresh, fresh ? "MetricsFresh" : (latest == nil ? "NoMetrics" : "MetricsStale"),
            fresh ? "latest datapoint \(Int(metricsAge ?? 0)) s old" : "no datapoint newer than \(Int(spec.staleAfterSeconds)) s; scale-in is suspended")
        set("Fallback", plan.fallback != nil, plan.fallback ?? "UsingModel",
            plan.fallback.map { "falling back to Reactive target tracking: \($0)" } ?? "decisions use the \(spec.mode.rawValue) rule", goodWhenTrue: false)
        let limited = plan.limits.filter { $0 != "CalendarPrewarm" }
        set("ScalingLimited", !limited.isEmpty, limited.first ?? "NotLimited", limited.isEmpty ? "the desired capacity is within every limit" : "limited by \(limited.joined(separator: ", "))", goodWhenTrue: false)
        set("Ready", calendarProblem == nil, calendarProblem == nil ? "Reconciled" : "CalendarUnreadable", calendarProblem ?? "reconciled at \(Timestamps.format(at))")

        newStatus = PolicyStatus.with(newStatus, conditions: conditions, observedGeneration: generation)
        newStatus["currentCapacity"] = .integer(Int64(scaled?.to ?? capacity.desired))
        newStatus["inServiceCapacity"] = .integer(Int64(capacity.inService))
        newStatus["desiredCapacity"] = .integer(Int64(plan.desired))
        newStatus["mode"] = .string(plan.basis)
        newStatus["currentLoad"] = observation.currentLoad.map { .number(($0 * 100).rounded() / 100) } ?? .null
        if let forecastLoad = plan.forecastLoad {
            newStatus["lastForecast"] = [
                "time": .string(Timestamps.format(at)), "load": .number((forecastLoad * 100).rounded() / 100),
                "quantile": .number(spec.quantile), "leadTimeSeconds": .integer(Int64(spec.leadTimeSeconds)),
                "points": .array(forecast.prefix(12).map { ["time": .string(Timestamps.format($0.time)), "value": .number(($0.value * 100).rounded() / 100), "median": .number(($0.median * 100).rounded() / 100)] }),
            ]
        }
        let windowStart = at.addingTimeInterval(-spec.stabilizationWindowSeconds)
        let recommendations = (observation.recommendations.filter { $0.time > windowStart } + [.init(time: at, capacity: plan.recommendation)]).suffix(64)
        newStatus["recommendations"] = .array(recommendations.map { ["time": .string(Timestamps.format($0.time)), "capacity": .integer(Int64($0.capacity))] })
        if let loaded {
            let header = loaded.forecaster.header
            newStatus["model"] = [
                "artefact": .string(spec.modelArtefact ?? ""), "version": .string(loaded.version),
                "trainedAt": .string(Timestamps.format(header.createdAt)), "loadedAt": .string(Timestamps.format(loaded.loadedAt)),
                "holdoutMAE": header.testMetrics.map { .number(Double($0.mae)) } ?? .null,
                "baselineMAE": header.baselineMetrics["seasonal_naive"].map { .number(Double($0.mae)) } ?? .null,
            ]
        } else {
            newStatus["model"] = nil
        }
        try await writeStatus(namespace: namespace, name: name, old: status, new: newStatus)

        if let scaled {
            let forecastText = plan.forecastLoad.map { String(format: "; forecast load %.1f at p%.0f within %.0f s", $0, spec.quantile * 100, spec.leadTimeSeconds + spec.stepSeconds) } ?? ""
            emit(regarding: reference, type: .normal, reason: scaled.to > scaled.from ? "ScaledUp" : "ScaledDown", action: "Scale",
                                  note: "capacity \(scaled.from) -> \(scaled.to): \(plan.reason)\(forecastText)")
        }
        for (condition, good) in flips {
            emit(regarding: reference, type: good ? .normal : .warning, reason: condition.reason, action: "Reconcile", note: "\(condition.type) is \(condition.status.rawValue): \(condition.message)")
        }
        let lead = forecast.min { abs($0.time.timeIntervalSince(at) - spec.leadTimeSeconds) < abs($1.time.timeIntervalSince(at) - spec.leadTimeSeconds) }
        history.record(key, PolicyHistory.Sample(
            time: at, load: observation.currentLoad, forecastTime: lead?.time, forecast: lead?.value, median: lead?.median, low: lead?.low, high: lead?.high,
            currentCapacity: scaled?.to ?? capacity.desired, inServiceCapacity: capacity.inService, desiredCapacity: plan.desired
        ), action: scaled.map { PolicyHistory.Action(time: at, from: $0.from, to: $0.to, reason: plan.reason) })
        metrics.update(key, current: scaled?.to ?? capacity.desired, desired: plan.desired, forecast: plan.forecastLoad, modelAge: loaded.map { at.addingTimeInterval(-binding.metrics.timeShift).timeIntervalSince($0.forecaster.header.trainingEnd) })
        return .requeue(after: .milliseconds(Int64(spec.stepSeconds * 1000 / max(configuration.speed, 0.001))))
    }

    /// Stale (trained on data older than maxAge) or failing its recorded accuracy gate.
    static func health(of header: ModelHeader, spec: PolicySpec, now: Date) -> Observation.ModelHealth {
        let age = now.timeIntervalSince(header.trainingEnd)
        if age > spec.modelMaxAgeSeconds {
            return .unusable(reason: "ModelStale", message: "trained on data up to \(Timestamps.format(header.trainingEnd)), older than \(Int(spec.modelMaxAgeSeconds)) s")
        }
        if let mae = header.testMetrics?.mae, let baseline = header.baselineMetrics["seasonal_naive"]?.mae, Double(mae) > spec.modelMaxMAERatio * Double(baseline) {
            return .unusable(reason: "ModelFailsAccuracyGate", message: String(format: "holdout MAE %.2f is above %.2f × seasonal-naive MAE %.2f", mae, spec.modelMaxMAERatio, baseline))
        }
        return .ready
    }

    /// Runs the model on the load history. The policy's quantile is read off the model's
    /// quantile outputs by linear interpolation between the two that bracket it (clamped to
    /// the outermost), so a p70 policy works with a p50/p90 model.
    static func forecast(_ forecaster: Forecaster, history: [(time: Date, load: Double)], events: [CalendarEvent], quantile: Double) throws -> [Observation.ForecastPoint] {
        let header = forecaster.header
        let table = TimeSeriesTable(timestamps: history.map(\.time), columns: [header.targetColumn: history.map { Float($0.load) }], columnNames: [header.targetColumn])
        let steps = try forecaster.forecast(table, events: events)
        let levels = header.quantiles.isEmpty ? [0.5] : header.quantiles.map(Double.init)
        // The model's outputs in ascending quantile order, sorted once for every step.
        let order = levels.indices.sorted { levels[$0] < levels[$1] }
        let sortedLevels = order.map { levels[$0] }
        return steps.map { step in
            let values = order.map { Double(max(0, step.values[$0])) }
            func at(_ q: Double) -> Double { interpolateSortedQuantile(q, levels: sortedLevels, values: values) }
            return Observation.ForecastPoint(time: step.timestamp, value: at(quantile), median: at(0.5), low: at(0), high: at(1))
        }
    }

    /// The value at quantile `q` from values at `levels` (any order): linear between the
    /// bracketing levels, the nearest level's value outside them.
    static func interpolateQuantile(_ q: Double, levels: [Double], values: [Double]) -> Double {
        let points = zip(levels, values).sorted { $0.0 < $1.0 }
        return interpolateSortedQuantile(q, levels: points.map(\.0), values: points.map(\.1))
    }

    /// `interpolateQuantile` for levels already in ascending order.
    static func interpolateSortedQuantile(_ q: Double, levels: [Double], values: [Double]) -> Double {
        guard let first = levels.first, let last = levels.last else { return 0 }
        if q <= first { return values[0] }
        if q >= last { return values[levels.count - 1] }
        let upper = levels.firstIndex { $0 >= q }!
        let (qa, va, qb, vb) = (levels[upper - 1], values[upper - 1], levels[upper], values[upper])
        return va + (vb - va) * (q - qa) / (qb - qa)
    }

    /// Skips no-op writes; a merge patch of the whole status on /status.
    private func writeStatus(namespace: String, name: String, old: JSONValue, new: JSONValue) async throws {
        guard new != old else { return }
        var patch = new
        // Fields that disappeared must be removed explicitly in a merge patch.
        for key in (old.objectValue ?? [:]).keys where new[key] == nil { patch[key] = .null }
        _ = try await client.patch(.scalingPolicies, namespace: namespace, name: name, .merge(["status": patch]), subresource: "status")
    }
}

/// A count shared with the event-sending task.
final class PendingCount: Sendable {
    private let count = Atomic<Int>(0)
    func add(_ delta: Int) { count.add(delta, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
