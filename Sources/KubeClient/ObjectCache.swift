import Foundation
import KubeCore
import Synchronization

/// An informer's local cache: objects by `namespace/name` (cluster-scoped: `name`), indexed
/// by namespace. Readers (listers, reconcilers) never touch the network.
///
/// Objects are kept serialised (compact JSON bytes) and parsed on read: a parsed object
/// costs several times its JSON size in enum cases, dictionaries and strings, which at
/// 10,000 ScalingPolicies was most of the controller's memory. Reads parse (tens of µs).
public final class ObjectCache: Sendable {
    struct Entry: Sendable {
        var data: Data
        var resourceVersion: String
        var namespace: String
        var object: JSONValue { (try? JSONValue(parsing: data)) ?? .null }

        init(_ object: JSONValue) {
            data = object.serialized()
            resourceVersion = object.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
            namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        }
    }

    private struct State {
        var objects: [String: Entry] = [:]
        var byNamespace: [String: Set<String>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public static func key(of object: JSONValue) -> String {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        guard let namespace = object.value(at: ["metadata", "namespace"])?.stringValue, !namespace.isEmpty else {
            return name
        }
        return "\(namespace)/\(name)"
    }

    public func get(_ key: String) -> JSONValue? { state.withLock { $0.objects[key] }?.object }

    public func get(namespace: String?, name: String) -> JSONValue? {
        get(namespace.map { "\($0)/\(name)" } ?? name)
    }

    public func list(namespace: String? = nil) -> [JSONValue] {
        let entries = state.withLock { state -> [Entry] in
            if let namespace {
                return (state.byNamespace[namespace] ?? []).sorted().compactMap { state.objects[$0] }
            }
            return state.objects.keys.sorted().map { state.objects[$0]! }
        }
        return entries.map(\.object)
    }

    public var keys: [String] { state.withLock { $0.objects.keys.sorted() } }
    public var count: Int { state.withLock { $0.objects.count } }

    /// Stores an object; returns the previous version.
    @discardableResult
    func upsert(_ object: JSONValue) -> JSONValue? {
        let key = Self.key(of: object)
        let entry = Entry(object)
        let previous = state.withLock { state in
            state.byNamespace[entry.namespace, default: []].insert(key)
            return state.objects.updateValue(entry, forKey: key)
        }
        return previous?.object
    }

    func remove(_ key: String) {
        state.withLock { state in
            guard let removed = state.objects.removeValue(forKey: key) else { return }
            state.byNamespace[removed.namespace]?.remove(key)
        }
    }

    /// Replaces the whole content (after a list); returns the objects that disappeared and
    /// the previous entries (parse one with `.object` only when needed).
    func replace(with objects: [JSONValue]) -> (removed: [(String, JSONValue)], previous: [String: Entry]) {
        var fresh = State()
        for object in objects {
            let key = Self.key(of: object)
            let entry = Entry(object)
            fresh.objects[key] = entry
            fresh.byNamespace[entry.namespace, default: []].insert(key)
        }
        let (removed, previous) = state.withLock { state in
            let previous = state.objects
            state = fresh
            return (previous.filter { fresh.objects[$0.key] == nil }, previous)
        }
        return (removed.map { ($0.key, $0.value.object) }, previous)
    }
}
