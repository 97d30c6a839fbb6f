import Foundation
import Forecasting
import KubeClient
import Synchronization
import Cloud

/// Builds and keeps each policy's target and metrics source. Simulated targets live here
/// (in memory), so a test can restart the controller around the same simulated world.
public final class TargetRegistry: Sendable {
    public struct Binding: Sendable {
        public var target: any ScalingTarget
        public var metrics: any MetricsSource

        public init(target: any ScalingTarget, metrics: any MetricsSource) {
            self.target = target
            self.metrics = metrics
        }
    }

    private let client: KubernetesClient
    /// An AWS client for a region (nil: AutoScalingGroup targets are refused).
    private let aws: (@Sendable (String) async throws -> AWSClient)?
    private let bindings = Mutex<[String: (spec: PolicySpec, binding: Binding)]>([:])
    /// Trace time is shifted by whole days so virtual time lines up with it (time of day kept).
    private let anchor: Date

    /// Where simulation traces other than "seed" may be read from.
    public let fileRoots: FileRoots

    public init(client: KubernetesClient, anchor: Date, aws: (@Sendable (String) async throws -> AWSClient)? = nil, fileRoots: FileRoots = .none) {
        self.client = client
        self.anchor = anchor
        self.aws = aws
        self.fileRoots = fileRoots
    }

    public func simulated(_ key: String) -> SimulatedTarget? {
        bindings.withLock { $0[key]?.binding.target as? SimulatedTarget }
    }

    public func binding(for key: String, namespace: String, spec: PolicySpec) async throws -> Binding {
        if let existing = bindings.withLock({ $0[key] }), existing.spec.targetKind == spec.targetKind, existing.spec.targetName == spec.targetName, existing.spec.simulation == spec.simulation {
            return existing.binding
        }
        if let trace = spec.simulation?.trace, trace != "seed", fileRoots.resolve(trace) == nil {
            throw TargetError.notFound(fileRoots.refusal(trace, what: "simulation trace"))
        }
        let binding: Binding
        switch spec.targetKind {
        case .simulated:
            let simulated = try Self.simulatedTarget(spec: spec, anchor: anchor)
            binding = Binding(target: simulated, metrics: simulated)
        case .deployment:
            // Load comes from the simulation trace when one is given (no metrics pipeline in
            // the embedded cluster); the capacity is the real Deployment's /scale.
            guard spec.simulation != nil else { throw TargetError.unsupported("spec.target.simulation is needed as the load source of a Deployment in this build") }
            let simulated = try Self.simulatedTarget(spec: spec, anchor: anchor)
            binding = Binding(target: KubernetesScaleTarget(client: client, namespace: namespace, name: spec.targetName), metrics: simulated)
        case .autoScalingGroup:
            guard let aws, let region = spec.region else { throw TargetError.unsupported("AutoScalingGroup targets need AWS access (forescale-controller --aws) and spec.target.region") }
            let awsClient = try await aws(region)
            let target = AutoScalingGroupTarget(api: AutoScalingAPI(client: awsClient), name: spec.targetName)
            let dimensions = spec.cloudWatch.dimensions.isEmpty ? ["AutoScalingGroupName": spec.targetName] : spec.cloudWatch.dimensions
            let metrics = CloudWatchLoadSource(
                cloudWatch: CloudWatchAPI(client: awsClient), metric: MetricIdentity(namespace: spec.cloudWatch.namespace, name: spec.cloudWatch.metricName, dimensions: dimensions),
                statistic: spec.cloudWatch.statistic, step: spec.stepSeconds, groupName: spec.targetName,
                currentInService: { try await target.capacity(at: Date()).inService })
            binding = Binding(target: target, metrics: metrics)
        }
        bindings.withLock { $0[key] = (spec, binding) }
        return binding
    }

    public func register(_ key: String, spec: PolicySpec, binding: Binding) {
        bindings.withLock { $0[key] = (spec, binding) }
    }

    /// The trace a simulation replays: "seed" (the prototype's generator, 30 days, CPU × loadScale)
    /// or a CSV with a `load`, `value` or `cpu_utilization` column (× loadScale).
    public static func trace(_ name: String, loadScale: Double) throws -> (start: Date, step: Double, demand: [Double], table: TimeSeriesTable) {
        // Thousands of simulated policies replay the same few traces: load each once and
        // share the (copy-on-write) arrays.
        let key = "\(name)|\(loadScale)"
        if let cached = traceCache.withLock({ $0[key] }) { return cached }
        let loaded = try loadTrace(name, loadScale: loadScale)
        traceCache.withLock { $0[key] = loaded }
        return loaded
    }

    private static let traceCache = Mutex<[String: (start: Date, step: Double, demand: [Double], table: TimeSeriesTable)]>([:])

    private static func loadTrace(_ name: String, loadScale: Double) throws -> (start: Date, step: Double, demand: [Double], table: TimeSeriesTable) {
        let table: TimeSeriesTable
        if name == "seed" {
            table = SyntheticGenerator.generate(days: 30, seed: 42)
        } else {
            do { table = try TimeSeriesTable.load(path: name) } catch { throw TargetError.notFound("\(error)") }
        }
        guard table.count > 2, let column = ["load", "value", "cpu_utilization"].first(where: { table.columns[$0] != nil }) else {
            throw TargetError.notFound("\(name): needs a load, value or cpu_utilization column and at least 3 rows")
        }
        let demand = table.columns[column]!.map { Double($0) * loadScale }
        return (table.timestamps[0], table.timestamps[1].timeIntervalSince(table.timestamps[0]), demand, table)
    }

    /// The trace shifted by whole days so that step `startOffsetSteps` falls at or just after `anchor`.
    public static func simulatedTarget(spec: PolicySpec, anchor: Date) throws -> SimulatedTarget {
        let simulation = spec.simulation!
        let trace = try trace(simulation.trace, loadScale: simulation.loadScale)
        let start = shiftedStart(traceStart: trace.start, step: trace.step, offsetSteps: simulation.startOffsetSteps, anchor: anchor)
        return SimulatedTarget(start: start, step: trace.step, demand: trace.demand, warmup: simulation.warmupSeconds, initialCapacity: simulation.initialCapacity,
                               timeShift: start.timeIntervalSince(trace.start))
    }

    public static func shiftedStart(traceStart: Date, step: Double, offsetSteps: Int, anchor: Date) -> Date {
        let offsetTime = traceStart.addingTimeInterval(Double(offsetSteps) * step)
        let days = (anchor.timeIntervalSince(offsetTime) / 86_400).rounded(.up)
        return traceStart.addingTimeInterval(days * 86_400)
    }
}
