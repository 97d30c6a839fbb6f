import Cloud
import Foundation
import PolicyEngine
import Synchronization

/// Load and covariates from Prometheus: the policy's load query (as instance-percent:
/// value ÷ capacityPerReplica × 100 when that is set) and one query per input, evaluated on
/// the policy's step grid. Each query's samples are kept between passes, so a reconcile
/// asks only for the last two steps — one small query per input, not the whole window.
public final class PrometheusLoadSource: MetricsSource {
    public let api: PrometheusAPI
    public let load: PolicySpec.PrometheusSpec
    public let inputs: [PolicySpec.MetricInput]
    public let step: Double
    private let cache = Mutex<[String: [Date: Double]]>([:])
    private let queryCount = Atomic<Int>(0)
    /// Shared by the policies of a controller: identical instant queries asked once.
    private let instant: InstantQueries

    public init(
        api: PrometheusAPI, load: PolicySpec.PrometheusSpec, inputs: [PolicySpec.MetricInput], step: Double,
        instant: InstantQueries = InstantQueries()
    ) {
        self.instant = instant
        self.api = api
        self.load = load
        self.inputs = inputs
        self.step = step
    }

    public var refreshesWithinStep: Bool { true }

    /// Range queries made so far (for the reconcile benchmark; instant queries are counted by `InstantQueries`).
    public var queries: Int { queryCount.load(ordering: .relaxed) }

    public func loadHistory(until now: Date, steps: Int) async throws -> [LoadSample] {
        let end = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / step).rounded(.down) * step)
        let start = end.addingTimeInterval(-Double(max(0, steps - 1)) * step)
        let loadValues = try await values(load.query, name: "load", start: start, end: end)
        guard !loadValues.isEmpty else { return [] }
        var inputValues: [[Date: Double]] = []
        for input in inputs {
            let values = try await values(input.query ?? "", name: input.name, start: start, end: end)
            guard !values.isEmpty else {
                throw MetricsProblem(
                    reason: .inputUnavailable, message: "input \(input.name): the query returns no data",
                    needsAttention: false)
            }
            inputValues.append(values)
        }
        let scale = load.capacityPerReplica.map { 100 / $0 } ?? 1
        var last = inputValues.map { values in values.min { $0.key < $1.key }?.value ?? 0 }
        return loadValues.keys.sorted().map { time in
            // An input without a sample at this step carries its previous value.
            for (index, values) in inputValues.enumerated() { if let value = values[time] { last[index] = value } }
            return LoadSample(time: time, load: loadValues[time]! * scale, inputs: last)
        }
    }

    /// The samples of `query` in [start, end] (step grid), from the cache plus what is new.
    private func values(_ query: String, name: String, start: Date, end: Date) async throws -> [Date: Double] {
        let cached = cache.withLock { $0[query] } ?? [:]
        // Re-read the last cached step too: its value may have been evaluated before the
        // scrape that belongs to it arrived.
        let from = cached.keys.max().map { max(start, $0.addingTimeInterval(-step)) } ?? start
        let series: [PrometheusSeries]
        do {
            queryCount.add(1, ordering: .relaxed)
            series = try await api.queryRange(query, start: from, end: end, step: step)
        } catch {
            throw Self.problem(error, input: name)
        }
        let fresh = try combined(series, name: name)
        let kept = cached.filter { $0.key >= start && $0.key < from }.merging(fresh) { $1 }
        cache.withLock { $0[query] = kept }
        return kept
    }

    /// The newest load: the load query at `now` (an instant query: Prometheus's own staleness handling drops a
    /// series whose target stopped answering), so a new series counts from its first scrape and the present is
    /// never a step old.
    public func newest(at now: Date) async throws -> LoadSample? {
        let series: [PrometheusSeries]
        do {
            series = try await instant.query(load.query, at: now, on: api)
        } catch let error as PrometheusError {
            throw Self.problem(error, input: "load")
        }
        guard let (time, value) = try combined(series, name: "load").max(by: { $0.key < $1.key }) else { return nil }
        return LoadSample(time: time, load: value * (load.capacityPerReplica.map { 100 / $0 } ?? 1))
    }

    /// One value per time from the query's series: the one series, or the aggregate of several when the spec
    /// says how (else the query is ambiguous).
    private func combined(_ series: [PrometheusSeries], name: String) throws -> [Date: Double] {
        var values: [Date: Double] = [:]
        switch (series.count, load.aggregate) {
        case (0, _):
            break
        case (1, _):
            for point in series[0].points { values[point.time] = point.value }
        case (let count, .none):
            throw MetricsProblem(
                reason: .ambiguousQuery,
                message:
                    "\(name): the query returns \(count) series where one is expected; aggregate it in PromQL or set "
                    + "spec.metrics.prometheus.aggregate (sum, avg, max, min)",
                needsAttention: true)
        case (_, let aggregate):
            var grouped: [Date: [Double]] = [:]
            for item in series { for point in item.points { grouped[point.time, default: []].append(point.value) } }
            for (time, group) in grouped { values[time] = Self.aggregate(group, aggregate) }
        }
        return values
    }

    static func aggregate(_ values: [Double], _ aggregation: PolicySpec.Aggregation) -> Double {
        switch aggregation {
        case .sum, .none: values.reduce(0, +)
        case .avg: values.reduce(0, +) / Double(max(1, values.count))
        case .max: values.max() ?? 0
        case .min: values.min() ?? 0
        }
    }

    static func problem(_ error: PrometheusError, input: String) -> MetricsProblem {
        let label = input == "load" ? "" : "input \(input): "
        switch error {
        case .unreachable:
            return MetricsProblem(
                reason: .prometheusUnreachable, message: label + error.description, needsAttention: false)
        case .badQuery:
            return MetricsProblem(
                reason: .prometheusQueryRejected, message: label + error.description, needsAttention: true)
        case .malformed:
            return MetricsProblem(
                reason: .prometheusAnswerUnreadable, message: label + error.description, needsAttention: false)
        case .credentials:
            return MetricsProblem(
                reason: .prometheusCredentials, message: label + error.description, needsAttention: true)
        }
    }
}
