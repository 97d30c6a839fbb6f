import KubeCore

/// Strategic merge patch for built-in kinds
/// (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md):
/// maps merge with `null` deleting; lists with a patch merge key merge by that key;
/// `$patch: replace|delete`, `$retainKeys`, `$setElementOrder/…` and
/// `$deleteFromPrimitiveList/…` directives. Merge keys are the k8s.io/api tags of the
/// fields our built-ins carry; other lists are replaced, as for atomic lists.
enum StrategicMerge {
    struct PatchError: Error {
        var problem: String
    }

    static let mergeKeys: [String: String] = [
        "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
        "ports": "containerPort", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
        "imagePullSecrets": "name", "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip",
        "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
    ]
    /// Primitive lists with patch strategy merge (union).
    static let mergedPrimitiveLists: Set<String> = ["finalizers"]

    static func apply(_ patch: JSONValue, to original: JSONValue) throws(PatchError) -> JSONValue {
        guard case .object(let patchFields) = patch else {
            throw PatchError(problem: "a strategic merge patch must be a JSON object")
        }
        return try mergeMap(original.objectValue ?? [:], patchFields) ?? .object([:])
    }

    /// nil means the map itself is deleted (`$patch: delete`).
    private static func mergeMap(_ original: [String: JSONValue], _ patch: [String: JSONValue]) throws(PatchError)
        -> JSONValue?
    {
        switch patch["$patch"]?.stringValue {
        case "delete"?: return nil
        case "replace"?: return .object(stripDirectives(patch))
        case nil, "merge"?: break
        case let other?: throw PatchError(problem: "unknown patch directive $patch: \(other)")
        }
        var result = original
        var orders: [String: [JSONValue]] = [:]
        for (key, value) in patch where key.hasPrefix("$") {
            if key.hasPrefix("$setElementOrder/") {
                orders[String(key.dropFirst("$setElementOrder/".count))] = value.arrayValue ?? []
            } else if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let doomed = value.arrayValue ?? []
                if let items = result[field]?.arrayValue {
                    result[field] = .array(items.filter { !doomed.contains($0) })
                }
            }
        }
        for (key, value) in patch where !key.hasPrefix("$") {
            switch (value, result[key]) {
            case (.null, _):
                result[key] = nil
            case (.object(let childPatch), .object(let childOriginal)?):
                result[key] = try mergeMap(childOriginal, childPatch)
            case (.object(let childPatch), _):
                result[key] = try mergeMap([:], childPatch)
            case (.array(let items), .array(let originalItems)?):
                result[key] = .array(try mergeList(key, originalItems, items))
            case (.array(let items), _):
                result[key] = .array(try mergeList(key, [], items))
            default:
                result[key] = value
            }
        }
        if let retained = patch["$retainKeys"]?.arrayValue?.compactMap(\.stringValue) {
            result = result.filter { retained.contains($0.key) }
        }
        for (field, order) in orders {
            guard let items = result[field]?.arrayValue else { continue }
            result[field] = .array(reorder(items, by: order, mergeKey: mergeKeys[field]))
        }
        return .object(result)
    }

    private static func mergeList(_ field: String, _ original: [JSONValue], _ patch: [JSONValue]) throws(PatchError)
        -> [JSONValue]
    {
        if mergedPrimitiveLists.contains(field) {
            return original + patch.filter { !original.contains($0) }
        }
        guard let mergeKey = mergeKeys[field] else { return patch.map(stripDirectivesDeep) }
        var result = original
        for item in patch {
            guard case .object(let itemFields) = item else {
                throw PatchError(problem: "\(field): list items must be objects with \(mergeKey)")
            }
            if itemFields["$patch"]?.stringValue == "replace" {
                return patch.filter { $0["$patch"] == nil }.map(stripDirectivesDeep)
            }
            guard let keyValue = itemFields[mergeKey] else {
                throw PatchError(problem: "\(field): item has no merge key \(mergeKey)")
            }
            let index = result.firstIndex { $0[mergeKey] == keyValue }
            if itemFields["$patch"]?.stringValue == "delete" {
                if let index { result.remove(at: index) }
                continue
            }
            if let index {
                result[index] = try mergeMap(result[index].objectValue ?? [:], itemFields) ?? result[index]
            } else {
                result.append(try mergeMap([:], itemFields) ?? item)
            }
        }
        return result
    }

    private static func reorder(_ items: [JSONValue], by order: [JSONValue], mergeKey: String?) -> [JSONValue] {
        func identity(_ item: JSONValue) -> JSONValue { mergeKey.flatMap { item[$0] } ?? item }
        let keys = order.map(identity)
        let ordered = keys.compactMap { key in items.first { identity($0) == key } }
        return ordered + items.filter { !keys.contains(identity($0)) }
    }

    private static func stripDirectives(_ fields: [String: JSONValue]) -> [String: JSONValue] {
        fields.filter { !$0.key.hasPrefix("$") }.mapValues(stripDirectivesDeep)
    }

    private static func stripDirectivesDeep(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let fields): return .object(stripDirectives(fields))
        case .array(let items): return .array(items.map(stripDirectivesDeep))
        default: return value
        }
    }
}
