import Foundation
import KubeCore
import Synchronization

/// The async driver of `WorkQueueState` (client-go's rate-limited work queue): workers
/// `await get()`, delayed and rate-limited adds wake up on the injected clock, and
/// `shutDown()` lets workers drain what is queued before `get()` returns nil.
public final class WorkQueue<Key: Hashable & Sendable>: Sendable {
    private struct Inner {
        var state: WorkQueueState<Key>
        var waiters: [CheckedContinuation<Key?, Never>] = []
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let inner: Mutex<Inner>
    private let now: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void

    /// `clock` drives delays (a manual clock in tests).
    public init<C: Clock>(clock: C, limiter: ControllerRateLimiter<Key> = .init()) where C.Duration == Duration {
        let start = clock.now
        now = { start.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
        inner = Mutex(Inner(state: WorkQueueState(limiter: limiter)))
    }

    public convenience init(limiter: ControllerRateLimiter<Key> = .init()) {
        self.init(clock: ContinuousClock(), limiter: limiter)
    }

    public var count: Int { inner.withLock { $0.state.count } }
    public var isShuttingDown: Bool { inner.withLock { $0.state.isShuttingDown } }
    public func retries(_ key: Key) -> Int { inner.withLock { $0.state.retries(key) } }

    public func add(_ key: Key) {
        let handOff = inner.withLock { inner -> [(CheckedContinuation<Key?, Never>, Key?)] in
            inner.state.add(key)
            return Self.dispatch(&inner)
        }
        for item in handOff { item.0.resume(returning: item.1) }
    }

    /// Adds `key` after `delay` (the earliest pending delay wins).
    public func add(_ key: Key, after delay: Duration) {
        guard delay > .zero else { return add(key) }
        let current = now()
        inner.withLock { $0.state.add(key, due: current + delay, now: current) }
        wake(after: delay)
    }

    /// A failed key: retried after its exponential backoff, under the global token bucket.
    public func addRateLimited(_ key: Key, notBefore: Duration = .zero) {
        let current = now()
        let due = inner.withLock { inner -> Duration? in
            inner.state.addRateLimited(key, now: current, notBefore: notBefore)
            return inner.state.nextWakeUp
        }
        if let due { wake(after: max(.zero, due - current)) }
        // A zero delay may have queued it at once.
        let handOff = inner.withLock { Self.dispatch(&$0) }
        for item in handOff { item.0.resume(returning: item.1) }
    }

    /// Success: the key's backoff starts over.
    public func forget(_ key: Key) { inner.withLock { $0.state.forget(key) } }

    /// The worker finished `key` (it may be handed out again if it was re-added meanwhile).
    public func done(_ key: Key) {
        let (handOff, drained) = inner.withLock {
            inner -> ([(CheckedContinuation<Key?, Never>, Key?)], [CheckedContinuation<Void, Never>]) in
            inner.state.done(key)
            let handOff = Self.dispatch(&inner)
            guard inner.state.isProcessingEmpty, inner.state.count == 0 else { return (handOff, []) }
            defer { inner.drainWaiters = [] }
            return (handOff, inner.drainWaiters)
        }
        for item in handOff { item.0.resume(returning: item.1) }
        for item in drained { item.resume() }
    }

    /// The next key; waits while none is ready; nil once shut down and drained.
    public func get() async -> Key? {
        let current = now()
        return await withCheckedContinuation { continuation in
            let ready = inner.withLock { inner -> Key?? in
                inner.state.advance(to: current)
                if let key = inner.state.get() { return .some(key) }
                if inner.state.isShuttingDown { return .some(nil) }
                inner.waiters.append(continuation)
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Stops accepting keys; workers finish what is queued, then `get()` returns nil.
    public func shutDown() {
        let waiting = inner.withLock { inner -> [CheckedContinuation<Key?, Never>] in
            inner.state.shutDown()
            guard inner.state.count == 0 else { return [] }
            defer { inner.waiters = [] }
            return inner.waiters
        }
        for item in waiting { item.resume(returning: nil) }
    }

    /// Returns when nothing is queued or being processed.
    public func waitUntilDrained() async {
        await withCheckedContinuation { continuation in
            let drained = inner.withLock { inner -> Bool in
                if inner.state.isProcessingEmpty && inner.state.count == 0 { return true }
                inner.drainWaiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
    }

    private func wake(after delay: Duration) {
        Task { [self] in
            try? await sleep(delay)
            let current = now()
            let handOff = inner.withLock { inner -> [(CheckedContinuation<Key?, Never>, Key?)] in
                inner.state.advance(to: current)
                return Self.dispatch(&inner)
            }
            for item in handOff { item.0.resume(returning: item.1) }
        }
    }

    /// Pairs waiting workers with ready keys (caller holds the lock; resumes outside it).
    private static func dispatch(_ inner: inout Inner) -> [(CheckedContinuation<Key?, Never>, Key?)] {
        var pairs: [(CheckedContinuation<Key?, Never>, Key?)] = []
        while !inner.waiters.isEmpty, let key = inner.state.get() {
            pairs.append((inner.waiters.removeFirst(), key))
        }
        if inner.state.isShuttingDown, inner.state.count == 0 {
            // Nothing more will come: release the remaining waiters.
            for waiter in inner.waiters { pairs.append((waiter, nil)) }
            inner.waiters = []
        }
        return pairs
    }
}
