import Transport

/// Where a kind lives in the REST API: `/api/v1/…` or `/apis/{group}/{version}/…`.
public struct ResourceRef: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var plural: String
    public var kind: String
    public var isNamespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, isNamespaced: Bool = true) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.isNamespaced = isNamespaced
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// The collection path, in `namespace` (nil: all namespaces or cluster-scoped).
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if isNamespaced, let namespace { path += "/namespaces/\(Self.escape(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(Self.escape(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    static func escape(_ segment: String) -> String {
        PercentEncoding.encode(segment, keeping: PercentEncoding.pathSegment)
    }

    public static let namespaces = ResourceRef(
        group: "", version: "v1", plural: "namespaces", kind: "Namespace", isNamespaced: false)
    public static let configMaps = ResourceRef(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap")
    public static let coreEvents = ResourceRef(group: "", version: "v1", plural: "events", kind: "Event")
    public static let events = ResourceRef(group: "events.k8s.io", version: "v1", plural: "events", kind: "Event")
    public static let leases = ResourceRef(group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease")
    public static let deployments = ResourceRef(group: "apps", version: "v1", plural: "deployments", kind: "Deployment")
    public static let jobs = ResourceRef(group: "batch", version: "v1", plural: "jobs", kind: "Job")
    public static let customResourceDefinitions = ResourceRef(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
        kind: "CustomResourceDefinition", isNamespaced: false)
    public static let scalingPolicies = ResourceRef(
        group: "forescale.io", version: "v1alpha1", plural: "scalingpolicies", kind: "ScalingPolicy")
}
