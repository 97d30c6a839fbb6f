import Foundation
import PolicyEngine
import Synchronization

/// What the dashboard charts, per policy: the last `limit` reconciles (load, forecast with
/// its band, capacity) and the last scaling actions. In memory on the replica that
/// reconciles (the leader); a restart starts afresh — status and Events are the durable record.
public final class PolicyHistory: Sendable {
    public struct Sample: Sendable, Equatable {
        public var time: Date
        /// Capacity-independent load observed at `time` (nil when metrics were stale).
        public var load: Double?
        /// The forecast made at `time` for `forecastTime` (the acting step, `ForecastPoint.acting`): at the policy's
        /// quantile, the median, and the model's lowest and highest quantiles (the band).
        public var forecastTime: Date?
        public var forecast: Double?
        public var median: Double?
        public var low: Double?
        public var high: Double?
        public var currentCapacity: Int
        public var inServiceCapacity: Int
        public var desiredCapacity: Int

        public init(
            time: Date, load: Double?, forecastTime: Date? = nil, forecast: Double? = nil, median: Double? = nil,
            low: Double? = nil, high: Double? = nil,
            currentCapacity: Int, inServiceCapacity: Int, desiredCapacity: Int
        ) {
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

    /// A sample as stored: 48 bytes (Float values, NaN for "none"; the forecast time as an
    /// offset), so a day of history for 10,000 policies stays within the memory budget.
    struct Packed {
        var time: Double
        var lead: Float
        var load, forecast, median, low, high: Float
        var current, inService, desired: Int32

        init(_ sample: Sample) {
            func pack(_ value: Double?) -> Float { value.map(Float.init) ?? .nan }
            time = sample.time.timeIntervalSinceReferenceDate
            lead = sample.forecastTime.map { Float($0.timeIntervalSince(sample.time)) } ?? .nan
            load = pack(sample.load)
            forecast = pack(sample.forecast)
            median = pack(sample.median)
            low = pack(sample.low)
            high = pack(sample.high)
            current = Int32(clamping: sample.currentCapacity)
            inService = Int32(clamping: sample.inServiceCapacity)
            desired = Int32(clamping: sample.desiredCapacity)
        }

        var sample: Sample {
            func unpack(_ value: Float) -> Double? { value.isNaN ? nil : Double(value) }
            let at = Date(timeIntervalSinceReferenceDate: time)
            return Sample(
                time: at, load: unpack(load), forecastTime: lead.isNaN ? nil : at.addingTimeInterval(Double(lead)),
                forecast: unpack(forecast), median: unpack(median), low: unpack(low), high: unpack(high),
                currentCapacity: Int(current), inServiceCapacity: Int(inService), desiredCapacity: Int(desired))
        }
    }

    private struct Series {
        var samples: Ring<Packed>
        var actions: Ring<ScalingAction>
    }

    /// Samples kept per policy at most (288: a day of 5-minute reconciles).
    public let sampleLimit: Int
    public let actionLimit: Int
    /// Bytes all policies' samples may take: with many policies each keeps fewer (at least
    /// `minimumSamples`), so the dashboard cannot push the controller past its memory budget.
    public let memoryBudget: Int
    static let minimumSamples = 12
    private let series = Mutex<[String: Series]>([:])
    private let changes = Atomic<Int>(0)

    /// 64 MiB: a full day for up to ~4,800 policies; 10,000 policies keep about 11 hours.
    public init(sampleLimit: Int = 288, actionLimit: Int = 50, memoryBudget: Int = 64 << 20) {
        precondition(sampleLimit > 0 && actionLimit > 0)
        self.sampleLimit = sampleLimit
        self.actionLimit = actionLimit
        self.memoryBudget = memoryBudget
    }

    /// The per-policy sample limit with `policies` policies under the budget.
    public func samplesPerPolicy(policies: Int) -> Int {
        let affordable = memoryBudget / max(1, policies) / MemoryLayout<Packed>.stride
        return min(sampleLimit, max(Self.minimumSamples, affordable))
    }

    /// Bumped by every record and forget: a cheap "anything new?" for live views.
    public var version: Int { changes.load(ordering: .acquiring) }

    public func record(_ key: String, _ sample: Sample, action: ScalingAction? = nil) {
        series.withLock { all in
            let limit = samplesPerPolicy(policies: all.count + (all[key] == nil ? 1 : 0))
            var entry =
                all.removeValue(forKey: key) ?? Series(samples: Ring(limit: limit), actions: Ring(limit: actionLimit))
            entry.samples.limit = limit
            entry.samples.append(Packed(sample))
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
    public func samples(_ key: String) -> [Sample] { series.withLock { $0[key]?.samples.elements.map(\.sample) ?? [] } }
    public func actions(_ key: String) -> [ScalingAction] { series.withLock { $0[key]?.actions.elements ?? [] } }
}

/// A bounded buffer that drops its oldest elements when full. The limit may change; a lower
/// one takes effect at the next append.
struct Ring<Element> {
    private var storage: [Element] = []
    private var head = 0
    var limit: Int

    init(limit: Int) { self.limit = limit }

    mutating func append(_ element: Element) {
        // Exactly the limit's capacity: growth by doubling would nearly double the memory.
        if storage.capacity < min(limit, storage.count + 1) { storage.reserveCapacity(limit) }
        if storage.count > limit {
            // The limit shrank: straighten, keep the newest limit − 1, then append.
            let kept = elements.suffix(max(0, limit - 1))
            storage = Array(kept)
            head = 0
            storage.append(element)
        } else if storage.count < limit {
            if head == 0 {
                storage.append(element)
            } else {
                // Grown limit on a wrapped ring: straighten first.
                storage = elements + [element]
                head = 0
            }
        } else {
            storage[head] = element
            head = (head + 1) % storage.count
        }
    }

    var count: Int { storage.count }
    var elements: [Element] { Array(storage[head...] + storage[..<head]) }
    var last: Element? { storage.isEmpty ? nil : storage[(head + storage.count - 1) % storage.count] }
}
