import Cloud
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Synchronization

/// A scalable thing: its capacity now, and setting it. `actionID` is the decision's stable
/// id (the same decision retried keeps it): a target that can remember ids (the simulator)
/// applies each once; an absolute set (SetDesiredCapacity, /scale) is idempotent anyway.
public protocol ScalingTarget: Sendable {
    func capacity(at now: Date) async throws -> CapacityState
    func setCapacity(_ capacity: Int, at now: Date, actionID: String) async throws
}

/// Where load comes from: capacity-independent load per step up to `now`.
public protocol MetricsSource: Sendable {
    /// The last `steps` samples at or before `now` on the policy's step grid, oldest first (the model's input).
    func loadHistory(until now: Date, steps: Int) async throws -> [LoadSample]
    /// The newest load the source has, with its own time (Prometheus: an instant query; CloudWatch: the newest
    /// complete 1-minute period), which may be newer than the grid's last step; nil when it has nothing newer.
    func newest(at now: Date) async throws -> LoadSample?
    /// Whether `newest` can be newer than the step grid (a live source, worth a fast check between steps).
    var refreshesWithinStep: Bool { get }
    /// How far this source's data was moved in time (a replayed trace); a model trained on
    /// the original trace is aged by the shifted clock.
    var timeShift: TimeInterval { get }
}

extension MetricsSource {
    public var timeShift: TimeInterval { 0 }
    /// A source whose history ends at `now` (a replayed trace) has nothing newer.
    public func newest(at now: Date) async throws -> LoadSample? { nil }
    public var refreshesWithinStep: Bool { false }
}

/// A Deployment (or any resource with `/scale`) through the Kubernetes API. A Deployment's capacity in service
/// is its ready replicas (what HPA counts, and what the learned lead time waits for); another resource's is its
/// `/scale` status.
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

    public func capacity(at now: Date) async throws -> CapacityState {
        if resource == .deployments {
            let object = try await client.get(resource, namespace: namespace, name: name)
            return CapacityState(
                desired: object.value(at: ["spec", "replicas"])?.intValue ?? 1,
                inService: object.value(at: ["status", "readyReplicas"])?.intValue ?? 0)
        }
        let scale = try await client.scale(resource, namespace: namespace, name: name)
        return CapacityState(desired: scale.specReplicas, inService: scale.statusReplicas)
    }

    public func setCapacity(_ capacity: Int, at now: Date, actionID: String) async throws {
        try await client.setScale(resource, namespace: namespace, name: name, replicas: capacity)
    }
}

/// An EC2 Auto Scaling group (DescribeAutoScalingGroups / SetDesiredCapacity). With `requiredNamespaceTag`,
/// the group must carry `forescale.io/namespace=<that namespace>`: every pass reads the group before it can
/// act on it, so a group that is not (or no longer) the namespace's is refused before any SetDesiredCapacity.
public struct AutoScalingGroupTarget: ScalingTarget {
    public let api: AutoScalingAPI
    public let name: String
    public let requiredNamespaceTag: String?

    public init(api: AutoScalingAPI, name: String, requiredNamespaceTag: String? = nil) {
        self.api = api
        self.name = name
        self.requiredNamespaceTag = requiredNamespaceTag
    }

    public func capacity(at now: Date) async throws -> CapacityState {
        guard let group = try await api.describeAutoScalingGroups(names: [name]).first else {
            throw TargetError.notFound("Auto Scaling group \(name) does not exist")
        }
        if let namespace = requiredNamespaceTag, group.tags[AccessRules.namespaceTag] != namespace {
            throw AccessDenied(
                rule: "autoScalingGroups",
                message:
                    "Auto Scaling group \(name) is not tagged \(AccessRules.namespaceTag)=\(namespace)"
                    + ": the group's owner tags it for this namespace, or an operator sets requireGroupTag: false")
        }
        return CapacityState(desired: group.desiredCapacity, inService: group.inServiceInstances)
    }

    public func setCapacity(_ capacity: Int, at now: Date, actionID: String) async throws {
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
