import Foundation
import KubeCore

/// A Kubernetes kind with a typed Swift view over its JSON.
public protocol KubeResource: Sendable {
    static var resource: ResourceRef { get }
    init(json: JSONValue) throws(KubeError)
    var json: JSONValue { get }
}

extension KubeResource {
    public var name: String { json.value(at: ["metadata", "name"])?.stringValue ?? "" }
    public var namespace: String { json.value(at: ["metadata", "namespace"])?.stringValue ?? "" }
    public var resourceVersion: String { json.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "" }
    public var generation: Int { json.value(at: ["metadata", "generation"])?.intValue ?? 0 }
    public var uid: String { json.value(at: ["metadata", "uid"])?.stringValue ?? "" }
}

/// Typed verbs for one kind, on top of the unstructured `KubernetesClient`.
public struct TypedClient<Object: KubeResource>: Sendable {
    public let client: KubernetesClient

    public init(_ client: KubernetesClient) {
        self.client = client
    }

    public func get(namespace: String?, name: String) async throws(KubeError) -> Object {
        try Object(json: try await client.get(Object.resource, namespace: namespace, name: name))
    }

    public func list(namespace: String?, labelSelector: String? = nil) async throws(KubeError) -> [Object] {
        var objects: [Object] = []
        for item in try await client.listAll(Object.resource, namespace: namespace, labelSelector: labelSelector).items
        {
            objects.append(try Object(json: item))
        }
        return objects
    }

    public func create(_ object: Object) async throws(KubeError) -> Object {
        try Object(json: try await client.create(Object.resource, namespace: object.namespace, object.json))
    }

    public func update(_ object: Object) async throws(KubeError) -> Object {
        try Object(json: try await client.update(Object.resource, namespace: object.namespace, object.json))
    }

    /// PUT of `/status` (only the status is taken).
    public func updateStatus(_ object: Object) async throws(KubeError) -> Object {
        try Object(
            json: try await client.update(
                Object.resource, namespace: object.namespace, object.json, subresource: "status"))
    }

    public func patch(namespace: String?, name: String, _ patch: PatchBody, subresource: String? = nil)
        async throws(KubeError) -> Object
    {
        try Object(
            json: try await client.patch(
                Object.resource, namespace: namespace, name: name, patch, subresource: subresource))
    }

    public func delete(namespace: String?, name: String) async throws(KubeError) {
        try await client.delete(Object.resource, namespace: namespace, name: name)
    }
}

/// core/v1 ConfigMap.
public struct ConfigMap: KubeResource {
    public static let resource = ResourceRef.configMaps
    public var json: JSONValue
    public init(json: JSONValue) { self.json = json }

    public init(namespace: String, name: String, data: [String: String]) {
        json = [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["namespace": .string(namespace), "name": .string(name)],
            "data": .object(data.mapValues(JSONValue.string)),
        ]
    }

    public var data: [String: String] {
        get { json["data"]?.stringMap ?? [:] }
        set { json["data"] = .object(newValue.mapValues(JSONValue.string)) }
    }
}

/// coordination.k8s.io/v1 Lease.
public struct Lease: KubeResource {
    public static let resource = ResourceRef.leases
    public var json: JSONValue
    public init(json: JSONValue) { self.json = json }

    /// A Lease holding `record`; with `resourceVersion`, an optimistic update of the one read.
    public init(namespace: String, name: String, record: LeaseRecord, resourceVersion: String? = nil) {
        var metadata: JSONValue = ["name": .string(name), "namespace": .string(namespace)]
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        json = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": record.spec]
    }

    public var record: LeaseRecord {
        get { LeaseRecord(spec: json["spec"]) }
        set { json["spec"] = newValue.spec }
    }
}

/// autoscaling/v1 Scale (the `/scale` subresource of Deployments and scalable CRs).
public struct Scale: Sendable, Equatable {
    public var specReplicas: Int
    public var statusReplicas: Int
    public var selector: String?
    public var resourceVersion: String
}

extension KubernetesClient {
    public func scale(_ resource: ResourceRef, namespace: String, name: String) async throws(KubeError) -> Scale {
        let scale = try await get(resource, namespace: namespace, name: name, subresource: "scale")
        return Scale(
            specReplicas: scale.value(at: ["spec", "replicas"])?.intValue ?? 0,
            statusReplicas: scale.value(at: ["status", "replicas"])?.intValue ?? 0,
            selector: scale.value(at: ["status", "selector"])?.stringValue,
            resourceVersion: scale.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
        )
    }

    /// Sets spec.replicas through `/scale` (a merge patch: no read-modify-write race).
    @discardableResult
    public func setScale(_ resource: ResourceRef, namespace: String, name: String, replicas: Int)
        async throws(KubeError) -> Scale
    {
        let scale = try await patch(
            resource, namespace: namespace, name: name, .merge(["spec": ["replicas": .integer(Int64(replicas))]]),
            subresource: "scale")
        return Scale(
            specReplicas: scale.value(at: ["spec", "replicas"])?.intValue ?? 0,
            statusReplicas: scale.value(at: ["status", "replicas"])?.intValue ?? 0,
            selector: scale.value(at: ["status", "selector"])?.stringValue,
            resourceVersion: scale.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
        )
    }
}

/// One Event as the recorder writes it, before it is spelled for an API group.
public struct Occurrence: Sendable {
    public var name: String
    public var regarding: ObjectReference
    public var type: EventRecorder.EventType
    public var reason: String
    public var action: String
    public var note: String
    public var time: Date
    public var reportingController: String
    public var reportingInstance: String

    /// The API server refuses longer notes (events.k8s.io: 1 kB).
    static let maxNoteLength = 1024
}

/// events.k8s.io/v1 Event.
public struct Event: KubeResource {
    public static let resource = ResourceRef.events
    public var json: JSONValue
    public init(json: JSONValue) { self.json = json }

    public init(_ event: Occurrence) {
        json = [
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": ["name": .string(event.name), "namespace": .string(event.regarding.namespace)],
            "eventTime": .string(Timestamps.formatMicro(event.time)),
            "reportingController": .string(event.reportingController),
            "reportingInstance": .string(event.reportingInstance),
            "action": .string(event.action), "reason": .string(event.reason), "type": .string(event.type.rawValue),
            "note": .string(String(event.note.prefix(Occurrence.maxNoteLength))),
            "regarding": event.regarding.json,
        ]
    }
}

/// core/v1 Event, for API servers without events.k8s.io.
public struct CoreEvent: KubeResource {
    public static let resource = ResourceRef.coreEvents
    public var json: JSONValue
    public init(json: JSONValue) { self.json = json }

    public init(_ event: Occurrence) {
        let time = JSONValue.string(Timestamps.format(event.time))
        json = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string(event.name), "namespace": .string(event.regarding.namespace)],
            "involvedObject": event.regarding.json, "reason": .string(event.reason),
            "message": .string(String(event.note.prefix(Occurrence.maxNoteLength))),
            "type": .string(event.type.rawValue),
            "action": .string(event.action), "source": ["component": .string(event.reportingController)],
            "reportingComponent": .string(event.reportingController),
            "reportingInstance": .string(event.reportingInstance),
            "firstTimestamp": time, "lastTimestamp": time, "count": 1,
        ]
    }
}
