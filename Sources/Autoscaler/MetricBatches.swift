import Cloud
import Foundation
import Synchronization

/// The fast checks' CloudWatch reads, batched: checks of one AWS client (an account and region) over the same
/// window that arrive within `gather` of each other share one GetMetricData call of up to 500 queries (CloudWatch's
/// limit), each check's answers returned to it alone. A failed call fails every check in it (each says so on its
/// next step pass).
public final class MetricBatches: Sendable {
    public static let maxQueriesPerCall = 500
    public let gather: Duration

    private struct Waiting {
        var queries: [MetricQuery]
        var answer: CheckedContinuation<[MetricSeries], Error>
    }

    private struct Batch {
        var api: CloudWatchAPI
        var start: Date
        var end: Date
        var waiting: [Waiting] = []
        var queryCount = 0
    }

    private let batches = Mutex<[String: (serial: Int, batch: Batch)]>([:])
    private let serials = Atomic<Int>(0)
    private let calls = Atomic<Int>(0)

    public init(gather: Duration = .milliseconds(50)) {
        self.gather = gather
    }

    /// GetMetricData calls sent so far.
    public var callsSent: Int { calls.load(ordering: .relaxed) }

    /// `queries` over [start, end] through `api`, in a call shared with other checks of `client` (the key of an
    /// account and region) over the same window.
    public func getMetricData(
        _ queries: [MetricQuery], start: Date, end: Date, api: CloudWatchAPI, client: String
    ) async throws -> [MetricSeries] {
        guard queries.count <= Self.maxQueriesPerCall else {
            calls.add(1, ordering: .relaxed)
            return try await api.getMetricData(queries, start: start, end: end)
        }
        let key = "\(client)\u{0}\(start.timeIntervalSince1970)\u{0}\(end.timeIntervalSince1970)"
        return try await withCheckedThrowingContinuation { continuation in
            let ready: [Batch] = batches.withLock { open in
                var ready: [Batch] = []
                var entry =
                    open[key] ?? (serials.add(1, ordering: .relaxed).newValue, Batch(api: api, start: start, end: end))
                if entry.batch.queryCount + queries.count > Self.maxQueriesPerCall {
                    // No room for this check: the batch goes now, and this check opens the next.
                    ready.append(entry.batch)
                    entry = (serials.add(1, ordering: .relaxed).newValue, Batch(api: api, start: start, end: end))
                }
                entry.batch.waiting.append(Waiting(queries: queries, answer: continuation))
                entry.batch.queryCount += queries.count
                if entry.batch.queryCount == Self.maxQueriesPerCall {
                    ready.append(entry.batch)
                    open.removeValue(forKey: key)
                    return ready
                }
                open[key] = entry
                if entry.batch.waiting.count == 1 {
                    // The first check of a batch sends it once the others have had `gather` to join.
                    let serial = entry.serial
                    Task { [self] in
                        try? await Task.sleep(for: gather)
                        let due: Batch? = batches.withLock { open in
                            guard let entry = open[key], entry.serial == serial else { return nil }
                            open.removeValue(forKey: key)
                            return entry.batch
                        }
                        if let due { await send(due) }
                    }
                }
                return ready
            }
            for batch in ready { Task { await send(batch) } }
        }
    }

    /// One call for the whole batch; each check gets its own queries' series back under its own ids.
    private func send(_ batch: Batch) async {
        var combined: [MetricQuery] = []
        for (index, check) in batch.waiting.enumerated() {
            for query in check.queries {
                var renamed = query
                renamed.id = "c\(index)_\(query.id)"
                combined.append(renamed)
            }
        }
        calls.add(1, ordering: .relaxed)
        do {
            let series = try await batch.api.getMetricData(combined, start: batch.start, end: batch.end)
            let byID = Dictionary(series.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            for (index, check) in batch.waiting.enumerated() {
                check.answer.resume(
                    returning: check.queries.map { query in
                        MetricSeries(id: query.id, points: byID["c\(index)_\(query.id)"]?.points ?? [])
                    })
            }
        } catch {
            for check in batch.waiting { check.answer.resume(throwing: error) }
        }
    }
}
