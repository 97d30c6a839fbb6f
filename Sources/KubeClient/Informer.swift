import Foundation
import KubeCore
import Synchronization

/// What an informer tells its handler. Handlers should only enqueue keys (level-based
/// reconcilers read the cache, never the event).
public enum InformerEvent: Sendable {
    case added(JSONValue)
    /// Also sent with old == new on a periodic resync.
    case updated(old: JSONValue, new: JSONValue)
    case deleted(JSONValue)

    public var object: JSONValue {
        switch self {
        case .added(let object), .deleted(let object): return object
        case .updated(_, let new): return new
        }
    }

    /// `namespace/name` (or `name` when cluster-scoped), the work-queue key.
    public var key: String { ObjectCache.key(of: object) }
}

/// client-go's reflector + informer: a paginated list, then a watch from the list's
/// resourceVersion with bookmarks; re-watch from the last seen version when a stream ends or
/// fails (with exponential backoff and jitter), re-list on 410 Expired; an optional periodic
/// resync; a local cache (`cache`) that is complete once `hasSynced`.
public final class Informer: Sendable {
    public struct Options: Sendable {
        public var namespace: String?
        public var labelSelector: String?
        public var fieldSelector: String?
        public var pageSize = 500
        public var watchTimeoutSeconds = 300
        /// Re-deliver every cached object as `.updated(old, new)` this often (nil: never).
        public var resync: Duration?
        public var initialBackoff: Duration = .milliseconds(200)
        public var maxBackoff: Duration = .seconds(30)

        public init(
            namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
            resync: Duration? = nil
        ) {
            self.namespace = namespace
            self.labelSelector = labelSelector
            self.fieldSelector = fieldSelector
            self.resync = resync
        }
    }

    /// Counters for tests, metrics and the benchmark.
    public struct Statistics: Sendable, Equatable {
        public var lists = 0
        public var watches = 0
        public var expired = 0
        public var errors = 0
        public var events = 0
    }

    public let cache = ObjectCache()
    public let resource: ResourceRef
    private let client: KubernetesClient
    private let options: Options
    private let handler: @Sendable (InformerEvent) -> Void
    private let clock: any Clock<Duration>
    private let state = Mutex<(synced: Bool, statistics: Statistics, waiters: [CheckedContinuation<Void, Never>])>(
        (false, Statistics(), []))

    public init(
        client: KubernetesClient, resource: ResourceRef, options: Options = Options(),
        clock: any Clock<Duration> = ContinuousClock(), handler: @escaping @Sendable (InformerEvent) -> Void
    ) {
        self.client = client
        self.resource = resource
        self.options = options
        self.clock = clock
        self.handler = handler
    }

    public var hasSynced: Bool { state.withLock { $0.synced } }
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Returns once the first list has filled the cache.
    public func waitForSync() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.synced { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func count(_ update: (inout Statistics) -> Void) {
        state.withLock { update(&$0.statistics) }
    }

    /// Runs until the task is cancelled.
    public func run() async {
        let resyncTask = options.resync.map { period in
            Task { [self] in
                while !Task.isCancelled {
                    do { try await clock.sleep(for: period) } catch { return }
                    for object in cache.list() { handler(.updated(old: object, new: object)) }
                }
            }
        }
        defer { resyncTask?.cancel() }
        var backoff = options.initialBackoff
        while !Task.isCancelled {
            do {
                let version = try await listAndReplace()
                backoff = options.initialBackoff
                try await watch(from: version, backoff: &backoff)
            } catch let error as KubeError {
                if case .expired = error {
                    count { $0.expired += 1 }
                    continue
                }
                count { $0.errors += 1 }
                await sleep(&backoff, hint: error.retryAfter)
            } catch {
                return  // cancelled
            }
        }
    }

    private func listAndReplace() async throws -> String {
        let list = try await client.listAll(
            resource, namespace: options.namespace, labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector, pageSize: options.pageSize)
        let (removed, previous) = cache.replace(with: list.items)
        for object in list.items {
            if let old = previous[ObjectCache.key(of: object)] {
                if old.resourceVersion != object.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "" {
                    handler(.updated(old: old.object, new: object))
                }
            } else {
                handler(.added(object))
            }
        }
        for (_, object) in removed { handler(.deleted(object)) }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.statistics.lists += 1
            state.synced = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for item in waiters { item.resume() }
        return list.resourceVersion
    }

    /// Watches from `version`, re-watching from the last version seen when a stream ends or
    /// fails; throws `.expired` (re-list) or when cancelled.
    private func watch(from version: String, backoff: inout Duration) async throws {
        var version = version
        while !Task.isCancelled {
            do {
                count { $0.watches += 1 }
                let stream = try await client.watch(
                    resource, namespace: options.namespace, resourceVersion: version,
                    labelSelector: options.labelSelector, fieldSelector: options.fieldSelector,
                    timeoutSeconds: options.watchTimeoutSeconds)
                for try await event in stream {
                    switch event.kind {
                    case .bookmark:
                        break
                    case .added, .modified:
                        if let old = cache.upsert(event.object) {
                            handler(.updated(old: old, new: event.object))
                        } else {
                            handler(.added(event.object))
                        }
                    case .deleted:
                        cache.remove(ObjectCache.key(of: event.object))
                        handler(.deleted(event.object))
                    }
                    if !event.resourceVersion.isEmpty { version = event.resourceVersion }
                    count { $0.events += 1 }
                    backoff = options.initialBackoff
                }
                if Task.isCancelled { throw CancellationError() }
            } catch let error as KubeError {
                if case .expired = error { throw error }
                count { $0.errors += 1 }
                await sleep(&backoff, hint: error.retryAfter)
            }
        }
        throw CancellationError()
    }

    /// Exponential backoff with jitter (0.5–1.5×), or the server's Retry-After when longer.
    private func sleep(_ backoff: inout Duration, hint: Duration?) async {
        let jittered = backoff * Double.random(in: 0.5...1.5)
        let delay = max(jittered, hint ?? .zero)
        backoff = min(backoff * 2, options.maxBackoff)
        try? await clock.sleep(for: delay)
    }
}
