import KubeClient
import KubeCore
import PolicyEngine

/// forescale.io/v1alpha1 ScalingPolicy: the tenant's spec (parsed, or why it cannot be) and the status the
/// controller and the trainer write — the one Swift view of the kind, read and written through `TypedClient`.
public struct ScalingPolicy: KubeResource {
    public static let resource = ResourceRef.scalingPolicies
    public var json: JSONValue
    public init(json: JSONValue) { self.json = json }

    /// The spec, checked and with defaults, or every problem with it.
    public var spec: Result<PolicySpec, InvalidSpec> { PolicySpec.parse(json["spec"]) }
    /// The stored status (empty on a new policy).
    public var status: PolicyStatus { PolicyStatus(json: json["status"]) }
    /// namespace/name, as caches and logs name it.
    public var key: String { ObjectCache.key(of: json) }
    /// What its Events regard.
    public var reference: ObjectReference { ObjectReference(json) }
    /// Being deleted (a finalizer's owner finishes): nothing more to do for it.
    public var isDeleting: Bool { json.value(at: ["metadata", "deletionTimestamp"]) != nil }
}

extension TypedClient<ScalingPolicy> {
    /// A merge patch of the status subresource (only what changed).
    public func patchStatus(of policy: ScalingPolicy, _ status: JSONValue) async throws(KubeError) {
        _ = try await patch(
            namespace: policy.namespace, name: policy.name, .merge(["status": status]), subresource: "status")
    }
}
