import Cloud
import Forecasting
import Foundation
import KubeClient
import PolicyEngine
import Synchronization
import Transport

/// Builds and keeps each policy's target and metrics source. A binding is rebuilt when
/// anything it was built from changes (target, region, simulation, metrics source and
/// settings, step) and forgotten when its policy is deleted. Simulated targets live here
/// (in memory: the demo, tests that restart the controller around the same world), or in a
/// `forescale simulator` every replica shares (`simulator`), as a real target is shared.
public final class TargetRegistry: Sendable {
    public struct Binding: Sendable {
        public var target: any ScalingTarget
        public var metrics: any MetricsSource

        public init(target: any ScalingTarget, metrics: any MetricsSource) {
            self.target = target
            self.metrics = metrics
        }
    }

    /// Everything a binding is built from.
    struct BindingKey: Hashable {
        var namespace: String
        var targetKind: PolicySpec.TargetKind
        var targetName: String
        var region: String?
        var simulation: PolicySpec.SimulationSpec?
        var metricsSource: PolicySpec.MetricsSource
        var cloudWatch: PolicySpec.CloudWatchSpec
        var prometheus: PolicySpec.PrometheusSpec?
        var inputs: [PolicySpec.MetricInput]
        var stepSeconds: Double
        /// Bindings built under older access rules are rebuilt (a server's header fields, a group's tag rule).
        var rulesGeneration: Int

        init(namespace: String, spec: PolicySpec, rulesGeneration: Int) {
            self.namespace = namespace
            targetKind = spec.targetKind
            targetName = spec.targetName
            region = spec.region
            simulation = spec.simulation
            metricsSource = spec.metricsSource
            cloudWatch = spec.cloudWatch
            prometheus = spec.prometheus
            inputs = spec.inputs
            stepSeconds = spec.stepSeconds
            self.rulesGeneration = rulesGeneration
        }
    }

    private let client: KubernetesClient
    /// An AWS client for a region (nil: AutoScalingGroup targets are refused).
    private let aws: (@Sendable (String) async throws -> AWSClient)?
    private let bindings = Mutex<[String: (key: BindingKey, binding: Binding)]>([:])
    /// Trace time is shifted by whole weeks so virtual time lines up with it (time of day and weekday kept).
    private let anchor: Date
    /// Where simulation traces other than "seed" may be read from.
    public let fileRoots: FileRoots

    /// Prometheus settings (the default server, if any) and the client all Prometheus-backed policies share.
    private let prometheus: (configuration: PrometheusConfiguration, client: HTTPClient)
    /// What each namespace may name.
    public let access: AccessControl
    /// The shared simulator (URL, this replica's identity) and its client, when configured.
    private let simulator: (url: String, identity: String, client: HTTPClient)?

    public init(
        client: KubernetesClient, anchor: Date, aws: (@Sendable (String) async throws -> AWSClient)? = nil,
        fileRoots: FileRoots = .none, prometheus: PrometheusConfiguration? = nil,
        simulator: (url: String, identity: String)? = nil, access: AccessControl = .closed
    ) {
        self.client = client
        self.access = access
        self.anchor = anchor
        self.aws = aws
        self.fileRoots = fileRoots
        self.simulator = simulator.map {
            ($0.url, $0.identity, HTTPClient(configuration: .init(maxConnectionsPerHost: 16)))
        }
        let configuration = prometheus ?? PrometheusConfiguration()
        var http = HTTPClient.Configuration(maxConnectionsPerHost: 16)
        if let caFile = configuration.caFile { http.tls.certificateAuthority = .file(caFile) }
        self.prometheus = (configuration, HTTPClient(configuration: http))
    }

    public func simulated(_ key: String) -> SimulatedTarget? {
        bindings.withLock { ($0[key]?.binding.target as? SimulatedTargetAdapter)?.target }
    }

    /// Policies with a binding (for tests: deleted policies must leave none behind).
    public var boundPolicies: Set<String> { bindings.withLock { Set($0.keys) } }

    public func binding(for key: String, namespace: String, spec: PolicySpec) async throws -> Binding {
        let bindingKey = BindingKey(namespace: namespace, spec: spec, rulesGeneration: access.generation)
        if let existing = bindings.withLock({ $0[key] }), existing.key == bindingKey { return existing.binding }
        let binding = try await makeBinding(namespace: namespace, spec: spec)
        bindings.withLock { $0[key] = (bindingKey, binding) }
        return binding
    }

    /// Metrics queries the bindings' Prometheus sources have made (benchmarks).
    public var metricsQueries: Int {
        bindings.withLock { $0.values.reduce(0) { $0 + (($1.binding.metrics as? PrometheusLoadSource)?.queries ?? 0) } }
    }

    /// Drops a deleted policy's binding.
    public func forget(_ key: String) {
        bindings.withLock { _ = $0.removeValue(forKey: key) }
    }

    public func register(_ key: String, namespace: String, spec: PolicySpec, binding: Binding) {
        bindings.withLock {
            $0[key] = (BindingKey(namespace: namespace, spec: spec, rulesGeneration: access.generation), binding)
        }
    }

    private func makeBinding(namespace: String, spec: PolicySpec) async throws -> Binding {
        if let trace = spec.simulation?.trace, trace != "seed", fileRoots.resolve(trace) == nil {
            throw TargetError.notFound(fileRoots.refusal(trace, what: "simulation trace"))
        }
        let target: any ScalingTarget
        switch spec.targetKind {
        case .simulated:
            let local = try Self.simulatedTarget(spec: spec, anchor: anchor)
            if let simulator {
                target = RemoteSimulatedTarget(
                    base: local.target, timeShift: local.timeShift, key: "\(namespace)/\(spec.targetName)",
                    url: simulator.url, identity: simulator.identity, http: simulator.client)
            } else {
                target = local
            }
        case .deployment:
            target = KubernetesScaleTarget(client: client, namespace: namespace, name: spec.targetName)
        case .autoScalingGroup:
            let (aws, _) = try await awsClient(spec)
            target = AutoScalingGroupTarget(
                api: AutoScalingAPI(client: aws), name: spec.targetName,
                requiredNamespaceTag: access.rules.requiresGroupTag(namespace: namespace) ? namespace : nil)
        }
        let metrics: any MetricsSource
        switch spec.metricsSource {
        case .simulated:
            // The target's own replay, or (a Deployment in the embedded cluster) a trace as
            // the load source beside the real /scale.
            if let simulated = target as? SimulatedTargetAdapter {
                metrics = simulated
            } else if let remote = target as? RemoteSimulatedTarget {
                metrics = remote
            } else {
                metrics = try Self.simulatedTarget(spec: spec, anchor: anchor)
            }
        case .cloudwatch:
            let (aws, _) = try await awsClient(spec)
            guard let group = target as? AutoScalingGroupTarget else {
                throw TargetError.unsupported("CloudWatch metrics need an AutoScalingGroup target")
            }
            let dimensions =
                spec.cloudWatch.dimensions.isEmpty
                ? ["AutoScalingGroupName": spec.targetName] : spec.cloudWatch.dimensions
            metrics = CloudWatchLoadSource(
                cloudWatch: CloudWatchAPI(client: aws),
                metric: MetricIdentity(
                    namespace: spec.cloudWatch.namespace, name: spec.cloudWatch.metricName, dimensions: dimensions),
                statistic: spec.cloudWatch.statistic, step: spec.stepSeconds, groupName: spec.targetName,
                inputs: spec.inputs,
                currentInService: { now in try await group.capacity(at: now).inService })
        case .prometheus:
            guard let load = spec.prometheus else {
                throw TargetError.unsupported("Prometheus metrics need spec.metrics.prometheus")
            }
            let api: PrometheusAPI
            do {
                switch try access.rules.prometheusServer(namespace: namespace, address: load.address).get() {
                case .controllerDefault:
                    api = try PrometheusAPI(client: prometheus.client, configuration: prometheus.configuration)
                case .address(let url, let headers):
                    api = try PrometheusAPI(
                        client: prometheus.client, configuration: prometheus.configuration, address: url,
                        headers: headers.map { ($0.name, $0.value) })
                }
            } catch let error as PrometheusError {
                throw TargetError.unsupported(error.description)
            }
            metrics = PrometheusLoadSource(api: api, load: load, inputs: spec.inputs, step: spec.stepSeconds)
        }
        return Binding(target: target, metrics: metrics)
    }

    private func awsClient(_ spec: PolicySpec) async throws -> (AWSClient, String) {
        guard let aws, let region = spec.region else {
            throw TargetError.unsupported(
                "AutoScalingGroup targets need AWS access (forescale-controller --aws) and spec.target.region")
        }
        return (try await aws(region), region)
    }

    /// The simulated target of `spec`, its trace shifted by whole weeks so that step
    /// `startOffsetSteps` falls at or before `anchor` (within a week). Whole weeks keep the
    /// time of day and the day of the week, which models take as inputs: a model trained on
    /// the original trace sees the same features in the replay. Any anchor in the same week
    /// gives the same shift, so a trainer asked later (its `now` as anchor) reads the part of
    /// the trace the controller replays.
    public static func simulatedTarget(spec: PolicySpec, anchor: Date) throws -> SimulatedTargetAdapter {
        guard let simulation = spec.simulation else {
            throw TargetError.unsupported("spec.target.simulation is required")
        }
        let trace = try TraceLibrary.trace(simulation.trace, loadScale: simulation.loadScale)
        let start = shiftedStart(
            traceStart: trace.start, step: trace.step, offsetSteps: simulation.startOffsetSteps, anchor: anchor)
        let shift = start.timeIntervalSince(trace.start)
        let inputs = spec.metricsSource == .simulated ? spec.inputs.map(\.name) : []
        guard
            let target = SimulatedTarget(
                trace: trace.shifted(by: shift), warmup: simulation.warmupSeconds,
                initialCapacity: simulation.initialCapacity, inputs: inputs)
        else {
            throw TargetError.notFound(
                "\(simulation.trace): the trace has no column for every input (\(inputs.joined(separator: ", ")))")
        }
        return SimulatedTargetAdapter(target, timeShift: shift)
    }

    public static func shiftedStart(traceStart: Date, step: Double, offsetSteps: Int, anchor: Date) -> Date {
        let offsetTime = traceStart.addingTimeInterval(Double(offsetSteps) * step)
        let weeks = (anchor.timeIntervalSince(offsetTime) / 604_800).rounded(.down)
        return traceStart.addingTimeInterval(weeks * 604_800)
    }
}

/// The traces simulations replay: "seed" (the prototype's generator, 30 days, CPU ×
/// loadScale) or a CSV with a `load`, `value` or `cpu_utilization` column (× loadScale).
/// Thousands of simulated policies replay the same few traces: each is loaded once and its
/// (copy-on-write) arrays shared. The cache is keyed by a tenant's strings (trace, scale), so it is
/// bounded: the `capacity` most recently used, the oldest dropped (a binding keeps its own copy alive).
public enum TraceLibrary {
    public static let capacity = 16
    private static let cache = Mutex<(traces: [String: Trace], order: [String])>(([:], []))

    public static func trace(_ name: String, loadScale: Double) throws -> Trace {
        let key = "\(name)|\(loadScale)"
        if let cached = cache.withLock({ cache -> Trace? in
            guard let trace = cache.traces[key] else { return nil }
            cache.order.removeAll { $0 == key }
            cache.order.append(key)
            return trace
        }) {
            return cached
        }
        let loaded = try load(name, loadScale: loadScale)
        cache.withLock { cache in
            if cache.traces.updateValue(loaded, forKey: key) == nil { cache.order.append(key) }
            while cache.order.count > capacity { cache.traces[cache.order.removeFirst()] = nil }
        }
        return loaded
    }

    /// Traces held now (tests: the cache stays bounded).
    public static var cachedCount: Int { cache.withLock { $0.traces.count } }

    private static func load(_ name: String, loadScale: Double) throws -> Trace {
        let table: TimeSeriesTable
        if name == "seed" {
            table = SyntheticGenerator.generate(days: 30, seed: 42)
        } else {
            do { table = try TimeSeriesTable.load(path: name) } catch { throw TargetError.notFound("\(error)") }
        }
        guard table.count > 2,
            let column = ["load", "value", "cpu_utilization"].first(where: { table.columns[$0] != nil })
        else {
            throw TargetError.notFound("\(name): needs a load, value or cpu_utilization column and at least 3 rows")
        }
        let demand = table.columns[column]!.map { Double($0) * loadScale }
        return Trace(
            start: table.timestamps[0], step: table.timestamps[1].timeIntervalSince(table.timestamps[0]),
            demand: demand, table: table)
    }
}
