import Foundation
import Synchronization

/// What the dashboard charts, per policy: the last `limit` reconciles (load, forecast with
/// its band, capacity) and the last scaling actions. In memory on the replica that
/// reconciles (the leader); a restart starts afresh — status and Events are the durable record.
public final class PolicyHistory: Sendable {
    public struct Sample: Sendable, Equatable {
        public var time: Date
        /// Capacity-independent load observed at `time` (nil when metrics were stale).
        public var load: Double?
        /// The forecast made at `time` for `forecastTime` (time + lead time): at the policy's
        /// quantile, the median, and the model's lowest and highest quantiles (the band).
        public var forecastTime: Date?
        public var forecast: Double?
        public var median: Double?
        public var low: Double?
        public var high: Double?
        public var currentCapacity: Int
        public var inServiceCapacity: Int
        public var desiredCapacity: Int

        public init(time: Date, load: Double?, forecastTime: Date? = nil, forecast: Double? = nil, median: Double? = nil, low: Double? = nil, high: Double? = nil,
                    currentCapacity: Int, inServiceCapacity: Int, desiredCapacity: Int) {
            self.time = time
            self.load = load
            self.forecastTime = forecastTime
            self.forecast = forecast
            self.median = median
            self.low = low
            self.high = high
            self.currentCapacity = currentCapacity
            self.inServiceCapacity = inServiceCapacity
            self.desiredCapacity = desiredCapacity
        }
    }

    public struct Action: Sendable, Equatable {
        public var time: Date
        public var from: Int
        public var to: Int
        public var reason: String
        public init(time: Date, from: Int, to: Int, reason: String) {
            self.time = time
            self.from = from
            self.to = to
            self.reason = reason
        }
    }

    private struct Series {
        var samples: Ring<Sample>
        var actions: Ring<Action>
    }

    public let sampleLimit: Int
    public let actionLimit: Int
    private let series = Mutex<[String: Series]>([:])
    private let changes = Atomic<Int>(0)

    /// 288 samples: a day of 5-minute reconciles.
    public init(sampleLimit: Int = 288, actionLimit: Int = 50) {
        precondition(sampleLimit > 0 && actionLimit > 0)
        self.sampleLimit = sampleLimit
        self.actionLimit = actionLimit
    }

    /// Bumped by every record and forget: a cheap "anything new?" for live views.
    public var version: Int { changes.load(ordering: .acquiring) }

    public func record(_ key: String, _ sample: Sample, action: Action? = nil) {
        series.withLock { all in
            var entry = all[key] ?? Series(samples: Ring(limit: sampleLimit), actions: Ring(limit: actionLimit))
            entry.samples.append(sample)
            if let action { entry.actions.append(action) }
            all[key] = entry
        }
        changes.add(1, ordering: .releasing)
    }

    public func forget(_ key: String) {
        let removed = series.withLock { $0.removeValue(forKey: key) != nil }
        if removed { changes.add(1, ordering: .releasing) }
    }

    /// Oldest first.
    public func samples(_ key: String) -> [Sample] { series.withLock { $0[key]?.samples.elements ?? [] } }
    public func actions(_ key: String) -> [Action] { series.withLock { $0[key]?.actions.elements ?? [] } }
    public func latest(_ key: String) -> Sample? { series.withLock { $0[key]?.samples.last } }
}

/// A fixed-size buffer that drops its oldest element when full.
struct Ring<Element> {
    private var storage: [Element] = []
    private var head = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    mutating func append(_ element: Element) {
        if storage.count < limit {
            storage.append(element)
        } else {
            storage[head] = element
            head = (head + 1) % limit
        }
    }

    var count: Int { storage.count }
    var elements: [Element] { Array(storage[head...] + storage[..<head]) }
    var last: Element? { storage.isEmpty ? nil : storage[(head + storage.count - 1) % storage.count] }
}
