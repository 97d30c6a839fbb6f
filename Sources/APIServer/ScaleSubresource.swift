import KubeCore

/// The autoscaling/v1 `Scale` view of a resource with a `/scale` subresource.
enum ScaleSubresource {
    static func scale(of object: JSONValue, type: ResourceType) -> JSONValue {
        let paths = type.scale!
        let metadata = object["metadata"] ?? [:]
        var scaleMetadata: [String: JSONValue] = [:]
        for key in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            if let value = metadata[key] { scaleMetadata[key] = value }
        }
        var status: [String: JSONValue] = [
            "replicas": .integer(Int64(object.value(at: paths.statusReplicas)?.intValue ?? 0))
        ]
        if let selectorPath = paths.labelSelector, let selector = object.value(at: selectorPath)?.stringValue {
            status["selector"] = .string(selector)
        } else if let matchLabels = object.value(at: ["spec", "selector", "matchLabels"])?.stringMap,
            !matchLabels.isEmpty
        {
            status["selector"] = .string(
                matchLabels.keys.sorted().map { "\($0)=\(matchLabels[$0]!)" }.joined(separator: ","))
        }
        return [
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": .object(scaleMetadata),
            "spec": ["replicas": .integer(Int64(object.value(at: paths.specReplicas)?.intValue ?? 0))],
            "status": .object(status),
        ]
    }

    /// Writes a (patched or PUT) Scale back into the object; 422 for a bad replica count.
    static func apply(_ scale: JSONValue, to object: JSONValue, type: ResourceType, name: String) throws(APIError)
        -> JSONValue
    {
        guard let replicas = scale.value(at: ["spec", "replicas"])?.intValue else {
            throw .invalid(type, name, [.required("spec.replicas")])
        }
        guard replicas >= 0 else {
            throw .invalid(type, name, [.invalid("spec.replicas", "\(replicas)", "must be greater than or equal to 0")])
        }
        var updated = object
        updated.setValue(.integer(Int64(replicas)), at: type.scale!.specReplicas)
        return updated
    }
}
