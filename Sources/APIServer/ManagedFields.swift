import Foundation
import KubeCore

/// Field ownership (`metadata.managedFields`) for server-side apply
/// (https://kubernetes.io/docs/reference/using-api/server-side-apply/).
///
/// Simplifications, stated: ownership is tracked per leaf (scalars, empty maps, and lists,
/// which are treated as atomic whatever their `x-kubernetes-list-type`), and `fieldsV1`
/// omits the `"."` self-markers. Conflicts, forced takeover, removal of fields a manager stops
/// applying, transfer of changed fields to non-apply writers, and kubectl's client-side to
/// server-side migration follow the real server.
enum ManagedFields {
    struct Entry: Equatable {
        var manager: String
        var operation: String
        var apiVersion: String
        var time: String
        var subresource: String?
        var fields: Set<[String]>
    }

    struct Conflict: Error {
        var conflicts: [(manager: String, apiVersion: String, path: [String])]
    }

    static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
    private static let untrackedMetadata: Set<String> = [
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
        "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
    ]

    // MARK: Paths

    static func leafPaths(_ object: JSONValue, subresource: String?) -> [[String]: JSONValue] {
        var leaves: [[String]: JSONValue] = [:]
        guard case .object(let fields) = object else { return leaves }
        for (key, value) in fields where key != "apiVersion" && key != "kind" {
            if subresource == "status" && key != "status" { continue }
            if subresource == nil && key == "status" { continue }
            if key == "metadata", case .object(let metadata) = value {
                for (metaKey, metaValue) in metadata where !untrackedMetadata.contains(metaKey) {
                    collect(metaValue, path: ["metadata", metaKey], into: &leaves)
                }
                continue
            }
            collect(value, path: [key], into: &leaves)
        }
        return leaves
    }

    private static func collect(_ value: JSONValue, path: [String], into leaves: inout [[String]: JSONValue]) {
        if case .object(let fields) = value, !fields.isEmpty {
            for (key, child) in fields { collect(child, path: path + [key], into: &leaves) }
        } else {
            leaves[path] = value
        }
    }

    static func fieldsV1(_ paths: Set<[String]>) -> JSONValue {
        var root = JSONValue.object([:])
        for path in paths { root.setValue(.object([:]), at: path.map { "f:" + $0 }) }
        return root
    }

    static func paths(fromFieldsV1 value: JSONValue, prefix: [String] = []) -> Set<[String]> {
        guard case .object(let fields) = value else { return [] }
        if fields.isEmpty { return prefix.isEmpty ? [] : [prefix] }
        var result: Set<[String]> = []
        for (key, child) in fields where key.hasPrefix("f:") {
            result.formUnion(paths(fromFieldsV1: child, prefix: prefix + [String(key.dropFirst(2))]))
        }
        return result
    }

    // MARK: Entries

    static func entries(of object: JSONValue) -> [Entry] {
        (object.value(at: ["metadata", "managedFields"])?.arrayValue ?? []).compactMap { item in
            guard let manager = item["manager"]?.stringValue, let operation = item["operation"]?.stringValue else {
                return nil
            }
            return Entry(
                manager: manager, operation: operation, apiVersion: item["apiVersion"]?.stringValue ?? "",
                time: item["time"]?.stringValue ?? "", subresource: item["subresource"]?.stringValue,
                fields: paths(fromFieldsV1: item["fieldsV1"] ?? [:])
            )
        }
    }

    static func store(_ entries: [Entry], in object: inout JSONValue) {
        let kept = entries.filter { !$0.fields.isEmpty }
        object.setValue(
            kept.isEmpty
                ? nil
                : .array(
                    kept.map { entry in
                        var item: [String: JSONValue] = [
                            "manager": .string(entry.manager), "operation": .string(entry.operation),
                            "apiVersion": .string(entry.apiVersion), "time": .string(entry.time),
                            "fieldsType": "FieldsV1", "fieldsV1": fieldsV1(entry.fields),
                        ]
                        if let subresource = entry.subresource { item["subresource"] = .string(subresource) }
                        return .object(item)
                    }), at: ["metadata", "managedFields"])
    }

    /// A non-apply write: the fields it changed now belong to `manager` (operation Update).
    static func recordUpdate(
        old: JSONValue?, new: inout JSONValue, manager: String, subresource: String?, apiVersion: String, now: Date
    ) {
        var entries = old.map(entries(of:)) ?? []
        let oldLeaves = old.map { leafPaths($0, subresource: subresource) } ?? [:]
        let newLeaves = leafPaths(new, subresource: subresource)
        let changed = Set(newLeaves.filter { oldLeaves[$0.key] != $0.value }.keys)
        let removed = Set(oldLeaves.keys).subtracting(newLeaves.keys)
        guard !changed.isEmpty || !removed.isEmpty else {
            store(entries, in: &new)
            return
        }
        for index in entries.indices {
            entries[index].fields.subtract(changed)
            entries[index].fields.subtract(removed)
        }
        let time = Timestamps.format(now)
        if let index = entries.firstIndex(where: {
            $0.manager == manager && $0.operation == "Update" && $0.subresource == subresource
        }) {
            entries[index].fields.formUnion(changed)
            entries[index].time = time
            entries[index].apiVersion = apiVersion
        } else {
            entries.append(
                Entry(
                    manager: manager, operation: "Update", apiVersion: apiVersion, time: time, subresource: subresource,
                    fields: changed))
        }
        store(entries, in: &new)
    }

    /// Server-side apply of `applied` by `manager` onto `current` (nil: create).
    static func apply(
        _ applied: JSONValue, to current: JSONValue?, manager: String, force: Bool, subresource: String?,
        apiVersion: String, now: Date
    ) throws(Conflict) -> JSONValue {
        var object = current ?? .object([:])
        var entries = current.map(entries(of:)) ?? []
        let appliedLeaves = leafPaths(applied, subresource: subresource)
        let currentLeaves = current.map { leafPaths($0, subresource: subresource) } ?? [:]
        let lastApplied: Set<[String]> = {
            guard manager == "kubectl",
                let text = current?.value(at: ["metadata", "annotations", lastAppliedAnnotation])?.stringValue,
                let config = try? JSONValue(parsing: Data(text.utf8))
            else { return [] }
            return Set(leafPaths(config, subresource: subresource).keys)
        }()
        let mine = { (entry: Entry) in
            entry.manager == manager && entry.operation == "Apply" && entry.subresource == subresource
        }

        var conflicts: [(manager: String, apiVersion: String, path: [String])] = []
        var takeovers: Set<[String]> = []
        for (path, value) in appliedLeaves {
            guard let existing = currentLeaves[path], existing != value else { continue }
            for entry in entries where !mine(entry) && entry.subresource == subresource && entry.fields.contains(path) {
                let migrating = entry.manager == "kubectl-client-side-apply" && lastApplied.contains(path)
                if force || migrating {
                    takeovers.insert(path)
                } else {
                    conflicts.append((entry.manager, entry.apiVersion, path))
                }
            }
        }
        guard conflicts.isEmpty else {
            throw Conflict(conflicts: conflicts.sorted { $0.path.lexicographicallyPrecedes($1.path) })
        }

        // Fields this manager applied before and no longer applies are removed unless
        // another manager also owns them.
        let previouslyApplied = entries.first(where: mine)?.fields ?? []
        let ownedByOthers = entries.filter { !mine($0) }.reduce(into: Set<[String]>()) { $0.formUnion($1.fields) }
        for path in previouslyApplied.subtracting(appliedLeaves.keys).subtracting(ownedByOthers) {
            object.setValue(nil, at: path)
        }
        for (path, value) in appliedLeaves {
            object.setValue(value, at: path)
        }
        for index in entries.indices where !mine(entries[index]) {
            entries[index].fields.subtract(takeovers)
        }
        let time = Timestamps.format(now)
        entries.removeAll(where: mine)
        entries.append(
            Entry(
                manager: manager, operation: "Apply", apiVersion: apiVersion, time: time, subresource: subresource,
                fields: Set(appliedLeaves.keys)))
        if !lastApplied.isEmpty || current?.value(at: ["metadata", "annotations", lastAppliedAnnotation]) != nil,
            manager == "kubectl"
        {
            var config = applied
            config.setValue(nil, at: ["metadata", "annotations", lastAppliedAnnotation])
            object.setValue(
                .string(String(decoding: config.serialized(), as: UTF8.self)),
                at: ["metadata", "annotations", lastAppliedAnnotation])
        }
        for key in ["apiVersion", "kind"] where object[key] == nil { object[key] = applied[key] }
        if current == nil, let metadata = applied["metadata"] {
            for key in ["name", "namespace", "generateName"] where metadata[key] != nil {
                object.setValue(metadata[key], at: ["metadata", key])
            }
        }
        store(entries, in: &object)
        return object
    }

    static func dotted(_ path: [String]) -> String {
        "." + path.joined(separator: ".")
    }
}
