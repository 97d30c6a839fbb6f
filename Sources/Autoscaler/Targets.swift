import Foundation
import Forecasting
import KubeClient
import KubeCore
import Synchronization
import Cloud

/// A scalable thing: its capacity now, and setting it.
public protocol ScalingTarget: Sendable {
    /// (capacity it is set to, capacity in service).
    func capacity(at now: Date) async throws -> (desired: Int, inService: Int)
    func setCapacity(_ capacity: Int, at now: Date) async throws
}

/// Where load comes from: capacity-independent load per step up to `now`.
public protocol MetricsSource: Sendable {
    /// The last `steps` samples at or before `now`, oldest first.
    func loadHistory(until now: Date, steps: Int) async throws -> [(time: Date, load: Double)]
    /// How far this source's data was moved in time (a replayed trace); a model trained on
    /// the original trace is aged by the shifted clock.
    var timeShift: TimeInterval { get }
}

extension MetricsSource {
    public var timeShift: TimeInterval { 0 }
}

/// A trace replayed in (virtual) time. Demand comes from the trace; capacity increases take
/// effect after `warmup`, decreases at once; per-instance CPU = demand / in-service capacity
/// saturating at 100%, and the load a monitor can observe saturates with it (demand above
/// 100% × in service is overload, not measured).
public final class SimulatedTarget: ScalingTarget, MetricsSource {
    public let start: Date
    public let step: Double
    public let demand: [Double]
    public let warmup: Double
    private struct Change { var time: Date; var capacity: Int }
    private let changes: Mutex<[Change]>

    public let timeShift: TimeInterval

    public init(start: Date, step: Double, demand: [Double], warmup: Double, initialCapacity: Int, timeShift: TimeInterval = 0) {
        self.timeShift = timeShift
        self.start = start
        self.step = step
        self.demand = demand
        self.warmup = warmup
        changes = Mutex([Change(time: .distantPast, capacity: initialCapacity)])
    }

    public func demand(at time: Date) -> Double {
        let index = Int((time.timeIntervalSince(start) / step).rounded(.down))
        return demand.indices.contains(index) ? demand[index] : (index < 0 ? demand.first ?? 0 : demand.last ?? 0)
    }

    /// Capacity set, and in service, at `time` (increases count after the warm-up).
    public func capacityState(at time: Date) -> (desired: Int, inService: Int) {
        changes.withLock { changes in
            let past = changes.filter { $0.time <= time }
            let desired = past.last?.capacity ?? 0
            // In service: the last capacity whose warm-up has passed, but decreases apply at once.
            var inService = changes.first?.capacity ?? 0
            for change in past {
                if change.capacity < inService || change.time.addingTimeInterval(warmup) <= time { inService = change.capacity }
            }
            return (desired, inService)
        }
    }

    public func capacity(at now: Date) async throws -> (desired: Int, inService: Int) { capacityState(at: now) }

    public func setCapacity(_ capacity: Int, at now: Date) async throws {
        appendChange(capacity, at: now)
    }

    func appendChange(_ capacity: Int, at time: Date) {
        changes.withLock { $0.append(Change(time: time, capacity: capacity)) }
    }

    public var changeLog: [(time: Date, capacity: Int)] { changes.withLock { $0.dropFirst().map { ($0.time, $0.capacity) } } }

    /// Per-instance CPU at `time`, capped at 100.
    public func cpu(at time: Date) -> Double {
        let inService = max(1, capacityState(at: time).inService)
        return min(100, demand(at: time) / Double(inService))
    }

    public func loadHistory(until now: Date, steps: Int) async throws -> [(time: Date, load: Double)] {
        let last = Int((now.timeIntervalSince(start) / step).rounded(.down))
        return (max(0, last - steps + 1)...max(0, last)).map { index in
            let time = start.addingTimeInterval(Double(index) * step)
            let inService = Double(max(1, capacityState(at: time).inService))
            return (time, min(demand(at: time), 100 * inService))
        }
    }
}

/// A Deployment (or any resource with `/scale`) through the Kubernetes API.
public struct KubernetesScaleTarget: ScalingTarget {
    public let client: KubernetesClient
    public let resource: ResourceRef
    public let namespace: String
    public let name: String

    public init(client: KubernetesClient, resource: ResourceRef = .deployments, namespace: String, name: String) {
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.name = name
    }

    public func capacity(at now: Date) async throws -> (desired: Int, inService: Int) {
        let scale = try await client.scale(resource, namespace: namespace, name: name)
        return (scale.specReplicas, scale.statusReplicas)
    }

    public func setCapacity(_ capacity: Int, at now: Date) async throws {
        try await client.setScale(resource, namespace: namespace, name: name, replicas: capacity)
    }
}

/// An EC2 Auto Scaling group (DescribeAutoScalingGroups / SetDesiredCapacity).
public struct AutoScalingGroupTarget: ScalingTarget {
    public let api: AutoScalingAPI
    public let name: String

    public init(api: AutoScalingAPI, name: String) {
        self.api = api
        self.name = name
    }

    public func capacity(at now: Date) async throws -> (desired: Int, inService: Int) {
        guard let group = try await api.describeAutoScalingGroups(names: [name]).first else {
            throw TargetError.notFound("Auto Scaling group \(name) does not exist")
        }
        return (group.desiredCapacity, group.inServiceInstances)
    }

    public func setCapacity(_ capacity: Int, at now: Date) async throws {
        try await api.setDesiredCapacity(groupName: name, capacity: capacity)
    }
}

public enum TargetError: Error, CustomStringConvertible {
    case notFound(String)
    case unsupported(String)
    public var description: String {
        switch self {
        case .notFound(let detail), .unsupported(let detail): return detail
        }
    }
}
