import KubeCore

/// Legacy discovery documents (`/api`, `/apis`, `/apis/{g}`, `/api/v1`, `/apis/{g}/{v}`).
/// Aggregated discovery is optional: kubectl falls back to these when `/api` answers plain JSON.
enum Discovery {
    static let version: JSONValue = [
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-forescale", "gitCommit": "forescale-embedded",
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "none (Swift)",
        "compiler": "swift", "platform": "linux/amd64",
    ]

    static func coreVersions(address: String) -> JSONValue {
        [
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(address)]],
        ]
    }

    private static func groupEntry(_ name: String, _ versions: [String]) -> JSONValue {
        let entries: [JSONValue] = versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        return ["name": .string(name), "versions": .array(entries), "preferredVersion": entries[0]]
    }

    static func groupList(_ registry: ResourceRegistry) -> JSONValue {
        [
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": .array(registry.groups().map { groupEntry($0.name, $0.versions) }),
        ]
    }

    static func group(_ name: String, _ registry: ResourceRegistry) -> JSONValue? {
        guard let found = registry.groups().first(where: { $0.name == name }) else { return nil }
        var entry = groupEntry(found.name, found.versions)
        entry["kind"] = "APIGroup"
        entry["apiVersion"] = "v1"
        return entry
    }

    static func resourceList(group: String, version: String, types: [ResourceType]) -> JSONValue {
        var resources: [JSONValue] = []
        for type in types {
            var entry: [String: JSONValue] = [
                "name": .string(type.plural), "singularName": .string(type.singular),
                "namespaced": .bool(type.isNamespaced), "kind": .string(type.kind),
                "verbs": .array(type.verbs.map(JSONValue.string)),
            ]
            if !type.shortNames.isEmpty { entry["shortNames"] = .array(type.shortNames.map(JSONValue.string)) }
            if !type.categories.isEmpty { entry["categories"] = .array(type.categories.map(JSONValue.string)) }
            resources.append(.object(entry))
            if type.hasStatusSubresource {
                resources.append([
                    "name": .string("\(type.plural)/status"), "singularName": "",
                    "namespaced": .bool(type.isNamespaced),
                    "kind": .string(type.kind), "verbs": ["get", "patch", "update"],
                ])
            }
            if type.scale != nil {
                resources.append([
                    "name": .string("\(type.plural)/scale"), "singularName": "", "namespaced": .bool(type.isNamespaced),
                    "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
                ])
            }
        }
        return [
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
            "resources": .array(resources),
        ]
    }
}
