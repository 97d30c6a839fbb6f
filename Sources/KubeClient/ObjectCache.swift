import Foundation
import KubeCore
import Synchronization

/// An informer's local cache: objects by `namespace/name` (cluster-scoped: `name`), indexed
/// by namespace. Readers (listers, reconcilers) never touch the network.
public final class ObjectCache: Sendable {
    private struct State {
        var objects: [String: JSONValue] = [:]
        var byNamespace: [String: Set<String>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public static func key(of object: JSONValue) -> String {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        guard let namespace = object.value(at: ["metadata", "namespace"])?.stringValue, !namespace.isEmpty else { return name }
        return "\(namespace)/\(name)"
    }

    public func get(_ key: String) -> JSONValue? { state.withLock { $0.objects[key] } }

    public func get(namespace: String?, name: String) -> JSONValue? {
        get(namespace.map { "\($0)/\(name)" } ?? name)
    }

    public func list(namespace: String? = nil) -> [JSONValue] {
        state.withLock { state in
            if let namespace {
                return (state.byNamespace[namespace] ?? []).sorted().compactMap { state.objects[$0] }
            }
            return state.objects.keys.sorted().map { state.objects[$0]! }
        }
    }

    public var keys: [String] { state.withLock { $0.objects.keys.sorted() } }
    public var count: Int { state.withLock { $0.objects.count } }

    /// Stores an object; returns the previous version.
    @discardableResult
    func upsert(_ object: JSONValue) -> JSONValue? {
        let key = Self.key(of: object)
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        return state.withLock { state in
            state.byNamespace[namespace, default: []].insert(key)
            return state.objects.updateValue(object, forKey: key)
        }
    }

    @discardableResult
    func remove(_ key: String) -> JSONValue? {
        state.withLock { state in
            guard let removed = state.objects.removeValue(forKey: key) else { return nil }
            let namespace = removed.value(at: ["metadata", "namespace"])?.stringValue ?? ""
            state.byNamespace[namespace]?.remove(key)
            return removed
        }
    }

    /// Replaces the whole content (after a list); returns the keys that disappeared.
    func replace(with objects: [JSONValue]) -> (removed: [(String, JSONValue)], previous: [String: JSONValue]) {
        var fresh = State()
        for object in objects {
            let key = Self.key(of: object)
            fresh.objects[key] = object
            fresh.byNamespace[object.value(at: ["metadata", "namespace"])?.stringValue ?? "", default: []].insert(key)
        }
        return state.withLock { state in
            let previous = state.objects
            state = fresh
            let removed = previous.filter { fresh.objects[$0.key] == nil }.map { ($0.key, $0.value) }
            return (removed, previous)
        }
    }
}
