import Cloud
import Foundation
import PolicyEngine

/// Load from CloudWatch: the policy's metric (default AWS/EC2 CPUUtilization, Average, by
/// AutoScalingGroupName) times the in-service instance count at each timestamp, from
/// AWS/AutoScaling GroupInServiceInstances when group metrics are enabled — so the load does
/// not move when the controller changes capacity. Without that metric the current in-service
/// count is used for the whole window (stated approximation). The policy's covariates (AWS
/// predictive scaling's predefined metrics, or any metric) come in the same GetMetricData
/// call, one query each.
public struct CloudWatchLoadSource: MetricsSource {
    public let cloudWatch: CloudWatchAPI
    public let metric: MetricIdentity
    public let statistic: String
    public let step: Double
    public let groupName: String
    /// The group's in-service count at a time (used when GroupInServiceInstances is missing).
    public let currentInService: @Sendable (Date) async throws -> Int
    /// Covariates: (name, metric, statistic), in the policy's order.
    public let inputs: [(name: String, metric: MetricIdentity, statistic: String)]
    /// The fast checks' reads, batched with other policies' of the same account and region (nil: a call each).
    public let batches: (shared: MetricBatches, client: String)?

    public init(
        cloudWatch: CloudWatchAPI, metric: MetricIdentity, statistic: String, step: Double, groupName: String,
        inputs: [PolicySpec.MetricInput] = [], batches: (shared: MetricBatches, client: String)? = nil,
        currentInService: @escaping @Sendable (Date) async throws -> Int
    ) {
        self.batches = batches
        self.inputs = inputs.compactMap { input in
            input.cloudWatch.map { (input.name, Self.metric(of: $0, groupName: groupName), Self.statistic(of: $0)) }
        }
        self.cloudWatch = cloudWatch
        self.metric = metric
        self.statistic = statistic
        self.step = step
        self.groupName = groupName
        self.currentInService = currentInService
    }

    public func loadHistory(until now: Date, steps: Int) async throws -> [LoadSample] {
        let period = max(60, Int(step))
        let start = now.addingTimeInterval(-Double(steps) * step)
        let series = try await cloudWatch.getMetricData(
            [
                MetricQuery(id: "utilization", metric: metric, periodSeconds: period, statistic: statistic),
                MetricQuery(
                    id: "inservice",
                    metric: MetricIdentity(
                        namespace: "AWS/AutoScaling", name: "GroupInServiceInstances",
                        dimensions: ["AutoScalingGroupName": groupName]), periodSeconds: period, statistic: "Average"),
            ]
                + inputs.enumerated().map {
                    MetricQuery(
                        id: "input\($0.offset)", metric: $0.element.metric, periodSeconds: period,
                        statistic: $0.element.statistic)
                },
            start: start, end: now)
        let utilization = (series.first { $0.id == "utilization" }?.points ?? []).sorted { $0.timestamp < $1.timestamp }
        let inService = Dictionary(
            (series.first { $0.id == "inservice" }?.points ?? []).map { ($0.timestamp, $0.value) },
            uniquingKeysWith: { $1 })
        let fallback = utilization.isEmpty ? 0 : Double(try await currentInService(now))
        let inputValues = inputs.indices.map { index in
            Dictionary(
                (series.first { $0.id == "input\(index)" }?.points ?? []).map { ($0.timestamp, $0.value) },
                uniquingKeysWith: { $1 })
        }
        for (index, values) in inputValues.enumerated() where values.isEmpty && !utilization.isEmpty {
            throw MetricsProblem(
                reason: .inputUnavailable, message: "input \(inputs[index].name): CloudWatch has no datapoints",
                needsAttention: false)
        }
        var last = inputValues.map { values in values.min { $0.key < $1.key }?.value ?? 0 }
        return utilization.suffix(steps).map { point in
            for (index, values) in inputValues.enumerated() {
                if let value = values[point.timestamp] { last[index] = value }
            }
            return LoadSample(
                time: point.timestamp, load: point.value * (inService[point.timestamp] ?? fallback), inputs: last)
        }
    }

    public var refreshesWithinStep: Bool { true }

    /// The newest complete 1-minute period of the metric (EC2 detailed monitoring, or any metric published each
    /// minute) in the last ten minutes, times the group's in-service count then; nil when the metric has only
    /// coarser periods (basic monitoring: the step grid's last period is the newest there is).
    public func newest(at now: Date) async throws -> LoadSample? {
        let queries = [
            MetricQuery(id: "utilization", metric: metric, periodSeconds: 60, statistic: statistic),
            MetricQuery(
                id: "inservice",
                metric: MetricIdentity(
                    namespace: "AWS/AutoScaling", name: "GroupInServiceInstances",
                    dimensions: ["AutoScalingGroupName": groupName]), periodSeconds: 60, statistic: "Average"),
        ]
        // On whole minutes (as CloudWatch rounds a recent start), ending where the current minute begins: only
        // complete periods — and the same window for every policy checked in that minute, so their reads batch.
        let (start, end) = (Self.minute(now.addingTimeInterval(-600)), Self.minute(now))
        let series =
            if let batches {
                try await batches.shared.getMetricData(
                    queries, start: start, end: end, api: cloudWatch, client: batches.client)
            } else {
                try await cloudWatch.getMetricData(queries, start: start, end: end)
            }
        // A period is complete once it has ended; its datapoint carries its start.
        guard
            let point = (series.first { $0.id == "utilization" }?.points ?? [])
                .filter({ $0.timestamp.addingTimeInterval(60) <= now })
                .max(by: { $0.timestamp < $1.timestamp })
        else { return nil }
        // The period's own in-service count; else the newest published before it (GroupInServiceInstances can
        // lag the load's metric); only without either the group's count now — which, just after a scale-up, would
        // multiply the period's per-instance value by instances that did not serve it.
        let counts = (series.first { $0.id == "inservice" }?.points ?? []).filter { $0.timestamp <= point.timestamp }
        var inService = counts.max(by: { $0.timestamp < $1.timestamp })?.value
        if inService == nil { inService = Double(try await currentInService(now)) }
        // Timed by its period's start, as CloudWatch and the history time datapoints.
        return LoadSample(time: point.timestamp, load: point.value * (inService ?? 0))
    }

    static func minute(_ time: Date) -> Date {
        Date(timeIntervalSince1970: (time.timeIntervalSince1970 / 60).rounded(.down) * 60)
    }

    /// AWS predictive scaling's predefined metrics, or the metric as given (dimensions
    /// default to the group).
    static func metric(of input: PolicySpec.CloudWatchInput, groupName: String) -> MetricIdentity {
        let group = ["AutoScalingGroupName": groupName]
        switch input.predefined {
        case .asgAverageCPUUtilization?:
            return MetricIdentity(namespace: "AWS/EC2", name: "CPUUtilization", dimensions: group)
        case .asgAverageNetworkIn?: return MetricIdentity(namespace: "AWS/EC2", name: "NetworkIn", dimensions: group)
        case .asgAverageNetworkOut?: return MetricIdentity(namespace: "AWS/EC2", name: "NetworkOut", dimensions: group)
        case .albRequestCountPerTarget?:
            let targetGroup = AccessRules.targetGroup(fromResourceLabel: input.resourceLabel ?? "")
            return MetricIdentity(
                namespace: "AWS/ApplicationELB", name: "RequestCountPerTarget", dimensions: ["TargetGroup": targetGroup]
            )
        case nil:
            return MetricIdentity(
                namespace: input.namespace ?? "AWS/EC2", name: input.metricName ?? "",
                dimensions: input.dimensions.isEmpty ? group : input.dimensions)
        }
    }

    static func statistic(of input: PolicySpec.CloudWatchInput) -> String {
        input.predefined == .albRequestCountPerTarget ? "Sum" : input.statistic
    }
}
