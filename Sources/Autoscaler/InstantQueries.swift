import Cloud
import Foundation
import Synchronization

/// The fast checks' instant queries, asked once: policies that ask one server the same PromQL (with the same header
/// fields) within `reuseSeconds` of each other share one answer, and one in flight is awaited rather than asked
/// again. The answer keeps Prometheus's evaluation time, so each policy still judges its age. Bounded: at most
/// `capacity` queries are remembered, the oldest dropped first.
public final class InstantQueries: Sendable {
    public let reuseSeconds: Double
    public let capacity: Int
    private let entries = Mutex<[String: (at: Date, answer: Task<[PrometheusSeries], Error>)]>([:])
    private let asked = Atomic<Int>(0)

    public init(reuseSeconds: Double = 2, capacity: Int = 50_000) {
        self.reuseSeconds = reuseSeconds
        self.capacity = capacity
    }

    /// Queries sent to a server (not answered from another policy's).
    public var queriesSent: Int { asked.load(ordering: .relaxed) }

    public func query(_ query: String, at now: Date, on api: PrometheusAPI) async throws -> [PrometheusSeries] {
        let key = api.identity + "\u{0}" + query
        let task: Task<[PrometheusSeries], Error> = entries.withLock { entries in
            if let entry = entries[key], abs(now.timeIntervalSince(entry.at)) <= reuseSeconds { return entry.answer }
            if entries.count >= capacity {
                let cutoff = now.addingTimeInterval(-reuseSeconds)
                entries = entries.filter { $0.value.at > cutoff }
                while entries.count >= capacity, let oldest = entries.min(by: { $0.value.at < $1.value.at })?.key {
                    entries.removeValue(forKey: oldest)
                }
            }
            asked.add(1, ordering: .relaxed)
            let answer = Task { () async throws -> [PrometheusSeries] in try await api.query(query, at: now) }
            entries[key] = (now, answer)
            return answer
        }
        do {
            return try await task.value
        } catch {
            // A failure is not remembered: the next check asks again.
            entries.withLock { entries in if entries[key]?.at == now { entries.removeValue(forKey: key) } }
            throw error
        }
    }
}
