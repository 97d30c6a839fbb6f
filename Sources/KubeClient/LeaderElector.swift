import Foundation
import KubeCore
import Synchronization

/// Where the election's Lease lives. `KubernetesLeaseLock` is the real one; tests wrap it to
/// cut one elector off the network.
public protocol LeaseLock: Sendable {
    /// The lease's record and resourceVersion, nil when it does not exist.
    func get() async throws(KubeError) -> (record: LeaseRecord, resourceVersion: String)?
    func create(_ record: LeaseRecord) async throws(KubeError)
    /// Optimistic: fails with `.conflict` when `resourceVersion` is stale.
    func update(_ record: LeaseRecord, resourceVersion: String) async throws(KubeError)
}

/// A coordination.k8s.io/v1 Lease through the API.
public struct KubernetesLeaseLock: LeaseLock {
    public let client: KubernetesClient
    public let namespace: String
    public let name: String

    public init(client: KubernetesClient, namespace: String, name: String) {
        self.client = client
        self.namespace = namespace
        self.name = name
    }

    public func get() async throws(KubeError) -> (record: LeaseRecord, resourceVersion: String)? {
        do {
            let lease = try await leases.get(namespace: namespace, name: name)
            return (lease.record, lease.resourceVersion)
        } catch {
            if case .notFound = error { return nil }
            throw error
        }
    }

    public func create(_ record: LeaseRecord) async throws(KubeError) {
        _ = try await leases.create(Lease(namespace: namespace, name: name, record: record))
    }

    public func update(_ record: LeaseRecord, resourceVersion: String) async throws(KubeError) {
        _ = try await leases.update(
            Lease(namespace: namespace, name: name, record: record, resourceVersion: resourceVersion))
    }

    private var leases: TypedClient<Lease> { TypedClient(client) }
}

/// Leader election over a Lease (client-go `leaderelection`): try every `retryPeriod` to
/// acquire; while leading, renew every `retryPeriod`, and stop leading (cancel the work)
/// when no renewal succeeded within `renewDeadline`; on graceful shutdown release the lease
/// so a successor takes over at once. renewDeadline < leaseDuration keeps a partitioned
/// leader from overlapping with its successor.
public final class LeaderElector: Sendable {
    public struct Configuration: Sendable {
        public var identity: String
        public var leaseDuration: Duration = .seconds(15)
        public var renewDeadline: Duration = .seconds(10)
        public var retryPeriod: Duration = .seconds(2)
        /// Release the lease when `run` is cancelled (false simulates a crash in tests).
        public var releaseOnCancel = true

        public init(identity: String) {
            self.identity = identity
        }
    }

    public let configuration: Configuration
    private let lock: any LeaseLock
    private let now: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void
    private let wallTime: @Sendable () -> Date
    private let state: Mutex<LeaderElectionState>
    private let leading = Atomic<Bool>(false)

    public init<C: Clock>(
        lock: any LeaseLock, configuration: Configuration, clock: C,
        wallTime: @escaping @Sendable () -> Date = { Date() }
    ) where C.Duration == Duration {
        precondition(
            configuration.renewDeadline < configuration.leaseDuration,
            "renewDeadline must be shorter than leaseDuration")
        self.lock = lock
        self.configuration = configuration
        let start = clock.now
        now = { start.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
        self.wallTime = wallTime
        state = Mutex(LeaderElectionState(identity: configuration.identity, leaseDuration: configuration.leaseDuration))
    }

    public var isLeader: Bool { leading.load(ordering: .acquiring) }

    /// One attempt to acquire or renew; true when this identity holds the lease afterwards.
    func tryAcquireOrRenew() async -> Bool {
        do {
            let current = try await lock.get()
            let at = now()
            let record: LeaseRecord? = state.withLock { state in
                state.observe(current?.record, now: at)
                guard state.mayAcquire(now: at) else { return nil }
                return state.nextRecord(wallTime: wallTime())
            }
            guard let record else { return false }
            if let current {
                try await lock.update(record, resourceVersion: current.resourceVersion)
            } else {
                try await lock.create(record)
            }
            let written = now()
            state.withLock { $0.observe(record, now: written) }
            return true
        } catch {
            return false
        }
    }

    /// Campaigns until elected, runs `lead` while leading, and returns when leadership is
    /// lost (after cancelling `lead`) or when the calling task is cancelled (after releasing
    /// the lease if configured).
    public func run(lead: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            if await tryAcquireOrRenew() { break }
            do { try await sleep(configuration.retryPeriod) } catch { return }
        }
        guard !Task.isCancelled else { return }
        leading.store(true, ordering: .releasing)
        let work = Task { await lead() }
        var lastRenewal = now()
        while !Task.isCancelled {
            do { try await sleep(configuration.retryPeriod) } catch { break }
            if Task.isCancelled { break }
            if await tryAcquireOrRenew() {
                lastRenewal = now()
            } else if now() - lastRenewal >= configuration.renewDeadline {
                break  // could not renew in time: someone else may take over soon
            }
        }
        leading.store(false, ordering: .releasing)
        work.cancel()
        await work.value
        if Task.isCancelled && configuration.releaseOnCancel { await release() }
    }

    /// Gives the lease up so another candidate can acquire it immediately.
    public func release() async {
        do {
            guard let current = try await lock.get() else { return }
            let record: LeaseRecord? = state.withLock { state in
                state.observe(current.record, now: now())
                return state.releaseRecord(wallTime: wallTime())
            }
            guard let record else { return }
            try await lock.update(record, resourceVersion: current.resourceVersion)
        } catch {
            // Best effort: the lease expires on its own.
        }
    }
}
