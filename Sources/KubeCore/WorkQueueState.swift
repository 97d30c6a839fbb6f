/// The logic of client-go's rate-limited work queue as a pure state machine; time is passed
/// in (an offset from any fixed origin), so tests drive it with a manual clock and the async
/// driver in KubeClient only sleeps until `nextWakeUp`.
///
/// Guarantees (client-go `workqueue`): a key is never handed to two workers at once; adding
/// a key that is already waiting does nothing; a key added while being processed is handed
/// out again after `done`; delayed adds wait until due (the earliest wins); per-key backoff
/// combined with a global token bucket for retries; `forget` resets a key's backoff.
public struct WorkQueueState<Key: Hashable & Sendable>: Sendable {
    private var queue: [Key] = []
    private var head = 0
    private var dirty: Set<Key> = []
    private var processing: Set<Key> = []
    /// Delayed adds: due time per key (the earliest requested).
    private var waiting: [Key: Duration] = [:]
    /// A lower bound of the earliest due time in `waiting` (exact after every `advance`), so
    /// `advance` is O(1) when nothing is due — workers call it on every `get`.
    private var earliestDue: Duration?
    public var limiter: ControllerRateLimiter<Key>
    public private(set) var isShuttingDown = false

    public init(limiter: ControllerRateLimiter<Key> = .init()) {
        self.limiter = limiter
    }

    public var count: Int { queue.count - head }
    public var isProcessingEmpty: Bool { processing.isEmpty }

    public mutating func add(_ key: Key) {
        guard !isShuttingDown, !dirty.contains(key) else { return }
        dirty.insert(key)
        if !processing.contains(key) { queue.append(key) }
    }

    /// Adds `key` once `now` reaches `due` (see `advance`).
    public mutating func add(_ key: Key, due: Duration, now: Duration) {
        guard !isShuttingDown else { return }
        if due <= now {
            add(key)
        } else if waiting[key].map({ due < $0 }) ?? true {
            waiting[key] = due
            earliestDue = min(earliestDue ?? due, due)
        }
    }

    /// A failed key: retried after the limiter's delay, and not before `notBefore` from now
    /// (a server's Retry-After).
    public mutating func addRateLimited(_ key: Key, now: Duration, notBefore: Duration = .zero) {
        add(key, due: now + max(limiter.when(key, now: now), notBefore), now: now)
    }

    public mutating func forget(_ key: Key) {
        limiter.forget(key)
    }

    public func retries(_ key: Key) -> Int { limiter.backoff.retries(key) }

    /// Moves delayed keys that are due at `now` into the queue.
    public mutating func advance(to now: Duration) {
        guard let earliest = earliestDue, earliest <= now else { return }
        let due = waiting.filter { $0.value <= now }.sorted { $0.value < $1.value }
        defer { earliestDue = waiting.values.min() }
        for (key, _) in due {
            waiting[key] = nil
            add(key)
        }
    }

    /// When the earliest delayed key is due (nil when none wait).
    public var nextWakeUp: Duration? { earliestDue }

    /// The next key for a worker, or nil when nothing is ready.
    public mutating func get() -> Key? {
        guard head < queue.count else { return nil }
        let key = queue[head]
        head += 1
        if head > 1024 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        dirty.remove(key)
        processing.insert(key)
        return key
    }

    /// The worker finished `key`; if it was added meanwhile it is queued again.
    public mutating func done(_ key: Key) {
        processing.remove(key)
        if dirty.contains(key) { queue.append(key) }
    }

    /// Stops accepting keys; workers drain what is queued, then `get` returns nil.
    public mutating func shutDown() {
        isShuttingDown = true
        waiting.removeAll()
        earliestDue = nil
    }
}
