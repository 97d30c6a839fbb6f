import Foundation

/// Client-side Event deduplication and spam filtering, as client-go's event recorder does
/// (https://github.com/kubernetes/client-go/tree/master/tools/events): repeats of the same
/// event within the aggregation window become a series update of the first one instead of new
/// objects, and each involved object has a token bucket so a flapping object cannot flood
/// the API (burst 25, one more every 5 minutes by default).
public struct EventAggregator: Sendable {
    public struct Key: Hashable, Sendable {
        public var object: String
        public var type: String
        public var reason: String
        public var action: String
        public var note: String

        public init(object: String, type: String, reason: String, action: String, note: String) {
            self.object = object
            self.type = type
            self.reason = reason
            self.action = action
            self.note = note
        }
    }

    public enum Decision: Sendable, Equatable {
        /// Create a new Event with this name.
        case create(name: String)
        /// Patch the existing Event's series.
        case updateSeries(name: String, count: Int)
        /// Rate-limited: not sent.
        case drop
    }

    private struct Entry {
        var name: String
        var count: Int
        var lastSeen: Duration
    }

    public var window: Duration
    public var burst: Int
    public var refill: Double
    private var entries: [Key: Entry] = [:]
    private var buckets: [String: TokenBucket] = [:]
    /// When expired entries and full buckets are next dropped: a sweep costs one pass over
    /// both, so it runs once per tenth of the window, not on every event.
    private var nextSweep: Duration?

    /// Series and buckets held now (what the sweeps bound).
    public var trackedCounts: (series: Int, buckets: Int) { (entries.count, buckets.count) }

    public init(window: Duration = .seconds(600), burst: Int = 25, refillPerSecond: Double = 1.0 / 300) {
        self.window = window
        self.burst = burst
        self.refill = refillPerSecond
    }

    /// Decides what to do with an event at monotonic time `now`. A new Event is named
    /// `objectName.suffix` (client-go uses the wall time in hex nanoseconds).
    public mutating func record(_ key: Key, objectName: String, suffix: String, now: Duration) -> Decision {
        var bucket = buckets[key.object] ?? TokenBucket(rate: refill, burst: burst)
        let wait = bucket.reserve(now: now)
        guard wait == .zero else {
            // Give the token back: a dropped event must not push the next one further out.
            bucket = TokenBucket(refunding: bucket)
            buckets[key.object] = bucket
            return .drop
        }
        buckets[key.object] = bucket
        sweep(now: now)
        if var entry = entries[key], now - entry.lastSeen <= window {
            entry.count += 1
            entry.lastSeen = now
            entries[key] = entry
            return .updateSeries(name: entry.name, count: entry.count)
        }
        let name = "\(objectName).\(suffix)"
        entries[key] = Entry(name: name, count: 1, lastSeen: now)
        return .create(name: name)
    }

    /// Drops series whose window has passed and buckets that have refilled (a full bucket is
    /// what an unseen object gets), so an aggregator that outlives many objects stays small.
    private mutating func sweep(now: Duration) {
        if let nextSweep, now < nextSweep { return }
        nextSweep = now + window / 10
        entries = entries.filter { now - $0.value.lastSeen <= window }
        buckets = buckets.filter { !$0.value.isFull(at: now) }
    }
}
