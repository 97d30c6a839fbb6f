import Cloud
import Forecasting
import Foundation
import KubeClient
import PolicyEngine
import Synchronization
import Transport

/// Builds and keeps each policy's target and metrics source. A binding is rebuilt when
/// anything it was built from changes (target, region, simulation, metrics source and
/// settings, step) and forgotten when its policy is deleted. Simulated targets and metrics are
/// a plug-in's (`TargetPlugin`: the simulation, in the `forescale` and lab builds); the images
/// carry none and refuse them with the reason.
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
        var metricsSource: PolicySpec.MetricsBackend
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
    /// Where file:// artefacts and simulation traces may be read from.
    public let fileRoots: FileRoots

    /// Prometheus settings (the default server, if any) and the client all Prometheus-backed policies share.
    private let prometheus: (configuration: PrometheusConfiguration, client: HTTPClient)
    /// What each namespace may name.
    public let access: AccessControl
    /// Simulated targets and metrics (nil: refused).
    private let plugin: (any TargetPlugin)?
    /// The fast checks' instant queries, shared by every Prometheus-backed policy (identical ones asked once).
    public let instantQueries = InstantQueries()
    /// The fast checks' CloudWatch reads, batched per AWS region (one call for up to 500 queries).
    public let metricBatches = MetricBatches()

    public init(
        client: KubernetesClient, aws: (@Sendable (String) async throws -> AWSClient)? = nil,
        fileRoots: FileRoots = .none, prometheus: PrometheusConfiguration? = nil, plugin: (any TargetPlugin)? = nil,
        access: AccessControl = .closed
    ) {
        self.client = client
        self.access = access
        self.aws = aws
        self.fileRoots = fileRoots
        self.plugin = plugin
        let configuration = prometheus ?? PrometheusConfiguration()
        var http = HTTPClient.Configuration(maxConnectionsPerHost: 16)
        if let caFile = configuration.caFile { http.tls.certificateAuthority = .file(caFile) }
        self.prometheus = (configuration, HTTPClient(configuration: http))
    }

    /// The binding built for a policy, if any.
    public func existingBinding(_ key: String) -> Binding? {
        bindings.withLock { $0[key]?.binding }
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
        let simulated = spec.targetKind == .simulated || spec.metricsSource == .simulated
        if simulated, plugin == nil {
            throw TargetError.unsupported(
                "simulated targets and metrics are not in this build (the images); use forescale controller or "
                    + "forescale demo to run a simulation")
        }
        let target: any ScalingTarget
        switch spec.targetKind {
        case .simulated:
            let replay = try plugin!.binding(namespace: namespace, spec: spec, target: nil, fileRoots: fileRoots)
            // Its own trace as the load, or (a benchmark, a demo of a real source) the load from Prometheus.
            if spec.metricsSource == .simulated { return replay }
            target = replay.target
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
            // A trace as the load source beside a real target (a Deployment in the embedded cluster).
            return try plugin!.binding(namespace: namespace, spec: spec, target: target, fileRoots: fileRoots)
        case .cloudwatch:
            let (aws, region) = try await awsClient(spec)
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
                inputs: spec.inputs, batches: (metricBatches, region),
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
            metrics = PrometheusLoadSource(
                api: api, load: load, inputs: spec.inputs, step: spec.stepSeconds, instant: instantQueries)
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
}

/// Target kinds a build adds beside the product's: the simulation (`Simulated` targets and metrics), which the
/// `forescale` CLI and the lab register and the controller and trainer images do not link.
public protocol TargetPlugin: Sendable {
    /// The binding of a policy whose target (`target` nil) or metrics (`target` the product's target) are
    /// simulated. Files it reads are under `fileRoots`.
    func binding(namespace: String, spec: PolicySpec, target: (any ScalingTarget)?, fileRoots: FileRoots) throws
        -> TargetRegistry.Binding
}
