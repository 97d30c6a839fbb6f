import Autoscaler
import Cloud
import Foundation
import KubeClient
import PolicyEngine
import Synchronization

/// A `SimulatedTarget` as a target and a metrics source of this process.
public final class SimulatedTargetAdapter: ScalingTarget, MetricsSource {
    private let state: Mutex<SimulatedTarget>
    public let timeShift: TimeInterval

    public init(_ target: SimulatedTarget, timeShift: TimeInterval) {
        state = Mutex(target)
        self.timeShift = timeShift
    }

    public var target: SimulatedTarget { state.withLock { $0 } }

    public func capacity(at now: Date) async throws -> CapacityState { state.withLock { $0.capacity(at: now) } }

    public func setCapacity(_ capacity: Int, at now: Date, actionID: String) async throws {
        state.withLock { $0.setCapacity(capacity, at: now) }
    }

    public func loadHistory(until now: Date, steps: Int) async throws -> [LoadSample] {
        state.withLock { $0.loadHistory(until: now, steps: steps) }
    }
}

extension TargetRegistry {
    /// A policy's simulated target in this process (the demo, tests), nil when it has none.
    public func simulated(_ key: String) -> SimulatedTarget? {
        (existingBinding(key)?.target as? SimulatedTargetAdapter)?.target
    }
}

extension TargetRegistry {
    /// A registry with the simulation plug-in, its traces lined up with `anchor` (the demo, benchmarks, tests).
    public convenience init(
        client: KubernetesClient, anchor: Date, aws: (@Sendable (String) async throws -> AWSClient)? = nil,
        fileRoots: FileRoots = .none, prometheus: PrometheusConfiguration? = nil, access: AccessControl = .closed
    ) {
        self.init(
            client: client, aws: aws, fileRoots: fileRoots, prometheus: prometheus,
            plugin: SimulationPlugin(anchor: anchor), access: access)
    }
}
