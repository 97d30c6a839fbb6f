import Foundation
import KubeCore

/// One stored object: its JSON bytes (as served, with its resourceVersion inside) and the
/// fields lists and watches filter on, so reads never re-parse.
struct StoredObject: Sendable {
    var data: Data
    var namespace: String
    var name: String
    var resourceVersion: Int64
    var labels: [String: String]
    /// Values of the selectable fields (`metadata.name`, `involvedObject.uid`, …).
    var fields: [String: String]
    /// When this version was written (or loaded, after a restart), by the store's clock.
    var storedAt: Date

    var key: String { namespace + "/" + name }

    func parsed() -> JSONValue {
        // Stored bytes were produced by our own serializer; they always parse.
        (try? JSONValue(parsing: data)) ?? .null
    }
}

enum WatchEventType: String, Sendable {
    case added = "ADDED"
    case modified = "MODIFIED"
    case deleted = "DELETED"
}

struct StoreEvent: Sendable {
    var type: WatchEventType
    var storageKey: String
    var object: StoredObject
    /// The state before this event, so selector watches can turn changes into ADDED/DELETED.
    var previous: StoredObject?
    var resourceVersion: Int64 { object.resourceVersion }
}

/// What the store accepts, and so what recovery must load: one set of limits for writes
/// and for replay. The log reader parses records with `recordDepth`, so every object that
/// passed `objectDepth` when it was written loads again.
enum StoreLimits {
    /// Nesting of a stored object. Request bodies are parsed with this limit too, but the
    /// stored form can be deeper than the body (managedFields mirror the fields under
    /// `metadata.managedFields[i].fieldsV1`), so the store checks the final object.
    static let objectDepth = 128
    /// A log or snapshot line: `{"k":…,"t":…,"o":OBJECT}` adds one level.
    static let recordDepth = objectDepth + 1
}

/// What a write decided, given the current object and the resourceVersion it would get.
enum StoreMutation: Sendable {
    /// Nothing to store (a no-op write keeps its resourceVersion and emits no event).
    case unchanged
    case put(JSONValue)
    case delete(JSONValue)
    /// What would be stored (dryRun=All): returned, not committed.
    case preview(JSONValue)
}

/// The API server's state: every object under one global, monotonically increasing
/// resourceVersion, a bounded window of past events for watches (older → 410 Expired),
/// and an optional write-ahead log so acknowledged writes survive a crash.
///
/// All writes are serialised under one lock; waiting watchers are woken by a broadcast.
final class ObjectStore: @unchecked Sendable {
    typealias FieldExtractor = @Sendable (_ storageKey: String, _ object: JSONValue) -> [String: String]

    private let condition = NSCondition()
    private var currentVersion: Int64 = 0
    private var buckets: [String: [String: StoredObject]] = [:]
    private var history: [StoreEvent] = []
    private var historyStart = 0
    private let historyLimit: Int
    /// Every event after this version is still in `history`.
    private var floorVersion: Int64 = 0
    /// Bumped by the test hook that drops every open watch.
    private(set) var watchEpoch = 0
    private var isClosed = false
    private let log: StoreLog?
    private let fieldExtractor: FieldExtractor
    private let clock: @Sendable () -> Date

    /// `recovered` sees the records read from the log before they are indexed (the API
    /// server registers recovered CRDs there, so their objects' fields index once).
    init(
        historyLimit: Int = 20_000, log: StoreLog?, fieldExtractor: @escaping FieldExtractor,
        clock: @escaping @Sendable () -> Date = { Date() },
        recovered recoveredHook: ([StoreLog.Record]) -> Void = { _ in }
    ) throws {
        self.historyLimit = historyLimit
        self.clock = clock
        self.log = log
        self.fieldExtractor = fieldExtractor
        if let log {
            let recovered = try log.recover()
            recoveredHook(recovered.objects)
            currentVersion = recovered.resourceVersion
            for record in recovered.objects {
                buckets[record.storageKey, default: [:]][record.objectKey] = makeStored(
                    record.object, storageKey: record.storageKey, version: record.resourceVersion, data: record.data)
            }
            floorVersion = currentVersion
        }
    }

    var resourceVersion: Int64 { condition.withLock { currentVersion } }

    var objectCount: Int { condition.withLock { buckets.values.reduce(0) { $0 + $1.count } } }

    private func makeStored(_ object: JSONValue, storageKey: String, version: Int64, data: Data? = nil) -> StoredObject
    {
        let metadata = object["metadata"]
        return StoredObject(
            data: data ?? object.serialized(),
            namespace: metadata?["namespace"]?.stringValue ?? "",
            name: metadata?["name"]?.stringValue ?? "",
            resourceVersion: version,
            labels: metadata?["labels"]?.stringMap ?? [:],
            fields: fieldExtractor(storageKey, object),
            storedAt: clock()
        )
    }

    func get(_ storageKey: String, namespace: String, name: String) -> StoredObject? {
        condition.withLock { buckets[storageKey]?[namespace + "/" + name] }
    }

    /// A consistent snapshot of one storage key (optionally one namespace), sorted by key,
    /// and the resourceVersion it was taken at.
    func list(_ storageKey: String, namespace: String?) -> (objects: [StoredObject], resourceVersion: Int64) {
        let (bucket, version) = condition.withLock { (buckets[storageKey] ?? [:], currentVersion) }
        var objects = Array(bucket.values)
        if let namespace { objects.removeAll { $0.namespace != namespace } }
        objects.sort { $0.namespace != $1.namespace ? $0.namespace < $1.namespace : $0.name < $1.name }
        return (objects, version)
    }

    func namespaceHasObjects(_ namespace: String) -> Bool {
        condition.withLock { buckets.values.contains { $0.values.contains { $0.namespace == namespace } } }
    }

    /// Stands in for the next resourceVersion while a write is prepared outside the lock;
    /// spliced with the real one at commit.
    static let pendingVersion: Int64 = 9_223_372_036_854_712_345
    private static let pendingBytes = Array("\"resourceVersion\":\"\(pendingVersion)\"".utf8)

    /// Optimistic write: `decide` runs on a snapshot of the current object *outside* the lock
    /// (parsing, patching, validation and serialisation use both cores), with
    /// `pendingVersion` as the next resourceVersion; the commit, under the lock, checks the
    /// object did not change meanwhile (else `decide` runs again on the new state), splices in
    /// the real resourceVersion, appends to the log and wakes watchers. The log is synced
    /// before this returns.
    @discardableResult
    func mutate(
        _ storageKey: String, namespace: String, name: String,
        _ decide: (_ current: StoredObject?, _ nextVersion: Int64) throws(APIError) -> StoreMutation
    ) throws(APIError) -> StoredObject? {
        let key = namespace + "/" + name
        for _ in 0..<64 {
            let current = condition.withLock { buckets[storageKey]?[key] }
            let outcome = try decide(current, Self.pendingVersion)
            let prepared: (StoredObject, WatchEventType)
            switch outcome {
            case .unchanged:
                return current
            case .preview(let object):
                return makeStored(object, storageKey: storageKey, version: current?.resourceVersion ?? 0)
            case .put(let object):
                try Self.checkLimits(object)
                prepared = (makeStored(object, storageKey: storageKey, version: 0), current == nil ? .added : .modified)
            case .delete(let object):
                try Self.checkLimits(object)
                prepared = (makeStored(object, storageKey: storageKey, version: 0), .deleted)
            }
            var syncOffset: UInt64?
            var committed: StoredObject?
            condition.lock()
            do {
                defer { condition.unlock() }
                guard buckets[storageKey]?[key]?.resourceVersion == current?.resourceVersion else { continue }
                let version = currentVersion + 1
                var stored = prepared.0
                stored.resourceVersion = version
                stored.data = Self.splice(stored.data, version: version)
                syncOffset = try commit(
                    StoreEvent(type: prepared.1, storageKey: storageKey, object: stored, previous: current))
                committed = stored
            }
            if let syncOffset { try sync(syncOffset) }
            return committed
        }
        throw APIError(
            code: 500, reason: "InternalError", message: "storage contention: the object kept changing; retry")
    }

    static func checkLimits(_ object: JSONValue) throws(APIError) {
        let depth = object.depth
        guard depth <= StoreLimits.objectDepth else {
            throw APIError(
                code: 422, reason: "Invalid",
                message:
                    "the object is nested \(depth) levels deep (with its managedFields); the limit is "
                    + "\(StoreLimits.objectDepth)"
            )
        }
    }

    /// The serialised object with its pending resourceVersion replaced (exactly one
    /// occurrence; otherwise re-serialised from the parsed object).
    static func splice(_ data: Data, version: Int64) -> Data {
        if let offset = onlyOccurrence(of: pendingBytes, in: data) {
            var result = data
            let start = data.startIndex + offset
            result.replaceSubrange(
                start..<(start + pendingBytes.count), with: Array("\"resourceVersion\":\"\(version)\"".utf8))
            return result
        }
        guard var object = try? JSONValue(parsing: data) else { return data }
        object.setValue(.string(String(version)), at: ["metadata", "resourceVersion"])
        return object.serialized()
    }

    /// The offset of `needle` in `data` when it occurs exactly once (memchr for its first
    /// byte, memcmp for the rest: this runs on every write).
    static func onlyOccurrence(of needle: [UInt8], in data: Data) -> Int? {
        guard let head = needle.first else { return nil }
        return data.withUnsafeBytes { haystack -> Int? in
            needle.withUnsafeBytes { pattern -> Int? in
                guard let base = haystack.baseAddress else { return nil }
                var found: Int?
                var position = 0
                while haystack.count - position >= pattern.count,
                    let hit = memchr(base + position, Int32(head), haystack.count - position - pattern.count + 1)
                {
                    let offset = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + offset, pattern.baseAddress!, pattern.count) == 0 {
                        if found != nil { return nil }
                        found = offset
                        position = offset + pattern.count
                    } else {
                        position = offset + 1
                    }
                }
                return found
            }
        }
    }

    /// Deletes every object of a storage key that matches, each as its own DELETED event
    /// (CRD deletion, namespace deletion, deletecollection).
    func deleteAll(
        _ storageKey: String, where predicate: (StoredObject) -> Bool, finalState: (JSONValue, Int64) -> JSONValue
    ) throws(APIError) -> [StoredObject] {
        var deleted: [StoredObject] = []
        var syncOffset: UInt64?
        condition.lock()
        do {
            defer { condition.unlock() }
            let doomed = (buckets[storageKey] ?? [:]).values.filter(predicate).sorted { $0.key < $1.key }
            for object in doomed {
                let version = currentVersion + 1
                let stored = makeStored(finalState(object.parsed(), version), storageKey: storageKey, version: version)
                syncOffset = try commit(
                    StoreEvent(type: .deleted, storageKey: storageKey, object: stored, previous: object))
                deleted.append(stored)
            }
        }
        if let syncOffset { try sync(syncOffset) }
        return deleted
    }

    /// Deletes the objects of `storageKey` last written before `cutoff` (each a DELETED
    /// watch event, as etcd's lease expiry is): how Events age out.
    func expire(_ storageKey: String, writtenBefore cutoff: Date, finalState: (JSONValue, Int64) -> JSONValue)
        throws(APIError) -> Int
    {
        try deleteAll(storageKey, where: { $0.storedAt < cutoff }, finalState: finalState).count
    }

    /// Caller holds the lock.
    private func commit(_ event: StoreEvent) throws(APIError) -> UInt64? {
        var offset: UInt64?
        if let log {
            do {
                offset = try log.append(event)
            } catch {
                throw APIError(code: 500, reason: "InternalError", message: "storage write failed: \(error)")
            }
        }
        currentVersion = event.resourceVersion
        let key = event.object.key
        if event.type == .deleted {
            buckets[event.storageKey]?[key] = nil
        } else {
            buckets[event.storageKey, default: [:]][key] = event.object
        }
        history.append(event)
        if history.count - historyStart > historyLimit {
            floorVersion = history[historyStart].resourceVersion
            historyStart += 1
            if historyStart > historyLimit {
                history.removeFirst(historyStart)
                historyStart = 0
            }
        }
        condition.broadcast()
        if let log, log.needsCompaction {
            do {
                try log.compact(snapshot: buckets, resourceVersion: currentVersion)
            } catch {
                throw APIError(code: 500, reason: "InternalError", message: "storage compaction failed: \(error)")
            }
        }
        return offset
    }

    private func sync(_ offset: UInt64) throws(APIError) {
        do {
            try log?.sync(through: offset)
        } catch {
            throw APIError(code: 500, reason: "InternalError", message: "storage sync failed: \(error)")
        }
    }

    enum WatchWait {
        case events([StoreEvent], resourceVersion: Int64)
        case expired(oldest: Int64)
        case closed
    }

    /// Events after `version` for the storage key, waiting until `deadline` for some.
    /// `.expired` when `version` is older than the retained window.
    func events(after version: Int64, storageKey: String, epoch: Int, until deadline: Date) -> WatchWait {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if isClosed || epoch != watchEpoch { return .closed }
            if version < floorVersion { return .expired(oldest: floorVersion) }
            if currentVersion > version {
                var found: [StoreEvent] = []
                var index = history.endIndex
                while index > historyStart, history[index - 1].resourceVersion > version { index -= 1 }
                for event in history[index...] where event.storageKey == storageKey { found.append(event) }
                if !found.isEmpty { return .events(found, resourceVersion: currentVersion) }
                // Only other kinds changed: the caller may send a bookmark at this version.
                return .events([], resourceVersion: currentVersion)
            }
            if !condition.wait(until: deadline) { return .events([], resourceVersion: currentVersion) }
        }
    }

    /// Waits until the store reaches `version` (list/get "not older than" a future version).
    func waitForVersion(_ version: Int64, until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while currentVersion < version {
            if !condition.wait(until: deadline) { return currentVersion >= version }
        }
        return true
    }

    /// Recomputes the selectable field values (after a CRD changed its selectableFields).
    func reindex(storageKeys: Set<String>? = nil) {
        condition.withLock {
            for (storageKey, bucket) in buckets where storageKeys?.contains(storageKey) ?? true {
                for (key, object) in bucket {
                    let fields = fieldExtractor(storageKey, object.parsed())
                    if fields != object.fields { buckets[storageKey]![key]!.fields = fields }
                }
            }
        }
    }

    // MARK: Test hooks

    /// Forgets the event window: watches from any earlier version get 410 Expired.
    func compactHistory() {
        condition.withLock {
            history.removeAll()
            historyStart = 0
            floorVersion = currentVersion
            condition.broadcast()
        }
    }

    /// Ends every open watch stream (as a load balancer or restart would).
    func dropWatches() {
        condition.withLock {
            watchEpoch += 1
            condition.broadcast()
        }
    }

    func currentWatchEpoch() -> Int { condition.withLock { watchEpoch } }

    func close() {
        condition.withLock {
            isClosed = true
            condition.broadcast()
        }
        log?.close()
    }
}
