import Foundation
import KubeCore

/// What the server serves right now: the built-ins plus one type per served version of each
/// established CRD. Rebuilt whenever a CRD is written or deleted.
final class ResourceRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private let builtins: [ResourceType]
    private var custom: [ResourceType] = []
    /// storageKey → selectable field paths beyond metadata (read on every write).
    private var selectable: [String: [[String]]] = [:]
    /// Changes whenever the set of served types changes (OpenAPI hashes, discovery).
    private(set) var revision = 0

    init() {
        builtins = BuiltinResources.all()
        selectable = Self.selectableIndex(builtins)
    }

    private static func selectableIndex(_ types: [ResourceType]) -> [String: [[String]]] {
        var index: [String: [[String]]] = [:]
        for type in types where index[type.storageKey] == nil {
            index[type.storageKey] = type.selectableFields.map { $0.split(separator: ".").map(String.init) }
        }
        return index
    }

    var all: [ResourceType] { lock.withLock { builtins + custom } }

    func replaceCustomResources(from crds: [JSONValue]) {
        let types = crds.flatMap(CustomResourceDefinitions.resourceTypes(from:))
        lock.withLock {
            custom = types
            selectable = Self.selectableIndex(builtins + types)
            revision += 1
        }
    }

    func lookup(group: String, version: String, plural: String) -> ResourceType? {
        lock.withLock {
            builtins.first { $0.group == group && $0.version == version && $0.plural == plural }
                ?? custom.first { $0.group == group && $0.version == version && $0.plural == plural }
        }
    }

    func types(group: String, version: String) -> [ResourceType] {
        all.filter { $0.group == group && $0.version == version }
    }

    /// Groups in discovery order, each with its versions (preferred first).
    func groups() -> [(name: String, versions: [String])] {
        var order: [String] = []
        var versions: [String: [String]] = [:]
        for type in all where !type.group.isEmpty {
            if versions[type.group] == nil { order.append(type.group) }
            if !(versions[type.group]?.contains(type.version) ?? false) {
                versions[type.group, default: []].append(type.version)
            }
        }
        return order.map { ($0, versions[$0]!.sorted(by: Self.versionPriority)) }
    }

    /// Kubernetes version priority: GA > beta > alpha, higher numbers first.
    static func versionPriority(_ lhs: String, _ rhs: String) -> Bool {
        func rank(_ version: String) -> (Int, Int, Int) {
            let scanner = version.dropFirst()
            let major = Int(scanner.prefix { $0.isNumber }) ?? 0
            let rest = scanner.drop { $0.isNumber }
            if rest.isEmpty { return (3, major, 0) }
            let minor = Int(rest.drop { !$0.isNumber }) ?? 0
            return (rest.hasPrefix("beta") ? 2 : rest.hasPrefix("alpha") ? 1 : 0, major, minor)
        }
        let (l, r) = (rank(lhs), rank(rhs))
        return l != r ? l > r : lhs < rhs
    }

    /// The selectable field values of a stored object (always metadata.name/namespace).
    func fieldValues(storageKey: String, object: JSONValue) -> [String: String] {
        var values = [
            "metadata.name": object.value(at: ["metadata", "name"])?.stringValue ?? "",
            "metadata.namespace": object.value(at: ["metadata", "namespace"])?.stringValue ?? "",
        ]
        let paths = lock.withLock { selectable[storageKey] ?? [] }
        for path in paths {
            values[path.joined(separator: ".")] = FieldSelector.text(object.value(at: path))
        }
        return values
    }
}
