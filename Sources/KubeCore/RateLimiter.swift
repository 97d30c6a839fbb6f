/// client-go's default controller rate limiter, as pure values with time passed in:
/// the larger of a per-item exponential backoff (5 ms · 2^failures, capped at 1000 s) and a
/// global token bucket (10 per second, burst 100).
/// https://github.com/kubernetes/client-go/blob/master/util/workqueue/default_rate_limiters.go
public struct ItemExponentialBackoff<Key: Hashable & Sendable>: Sendable {
    public var base: Duration
    public var cap: Duration
    private(set) var failures: [Key: Int] = [:]

    public init(base: Duration = .milliseconds(5), cap: Duration = .seconds(1000)) {
        self.base = base
        self.cap = cap
    }

    /// The delay before `key` may be retried, counting this failure.
    public mutating func when(_ key: Key) -> Duration {
        let count = failures[key, default: 0]
        failures[key] = count + 1
        guard count < 62 else { return cap }
        let delay = base * (1 << min(count, 40))
        return delay > cap ? cap : delay
    }

    public func retries(_ key: Key) -> Int { failures[key, default: 0] }

    /// Success: the next failure starts again from `base`.
    public mutating func forget(_ key: Key) {
        failures[key] = nil
    }
}

/// A token bucket: `rate` tokens per second, holding at most `burst`. Each request takes a
/// token; when none is left the request is scheduled for when one will be.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Int
    private var tokens: Double
    private var last: Duration?

    public init(rate: Double = 10, burst: Int = 100) {
        self.rate = rate
        self.burst = burst
        tokens = Double(burst)
    }

    /// The bucket with the last reserved token returned (a request that was not made).
    public init(refunding bucket: TokenBucket) {
        self = bucket
        tokens += 1
    }

    /// Whether the bucket will have refilled completely by `now`.
    public func isFull(at now: Duration) -> Bool {
        guard let last else { return tokens >= Double(burst) }
        return tokens + max(0, (now - last).seconds) * rate >= Double(burst)
    }

    /// Reserves a token at `now` (time since any fixed origin) and returns the wait.
    public mutating func reserve(now: Duration) -> Duration {
        if let last {
            let elapsed = (now - last).seconds
            tokens = min(Double(burst), tokens + max(0, elapsed) * rate)
        }
        last = now
        tokens -= 1
        if tokens >= 0 { return .zero }
        return .nanoseconds(Int64((-tokens / rate * 1e9).rounded(.up)))
    }
}

/// The combination client-go uses by default: the larger of both delays.
public struct ControllerRateLimiter<Key: Hashable & Sendable>: Sendable {
    public var backoff: ItemExponentialBackoff<Key>
    public var bucket: TokenBucket

    public init(backoff: ItemExponentialBackoff<Key> = .init(), bucket: TokenBucket = .init()) {
        self.backoff = backoff
        self.bucket = bucket
    }

    public mutating func when(_ key: Key, now: Duration) -> Duration {
        max(backoff.when(key), bucket.reserve(now: now))
    }

    public mutating func forget(_ key: Key) {
        backoff.forget(key)
    }
}
