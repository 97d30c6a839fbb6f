import Cloud
import Foundation
import PolicyEngine

/// Load from CloudWatch: the policy's metric (default AWS/EC2 CPUUtilization, Average, by
/// AutoScalingGroupName) times the in-service instance count at each timestamp, from
/// AWS/AutoScaling GroupInServiceInstances when group metrics are enabled — so the load does
/// not move when the controller changes capacity. Without that metric the current in-service
/// count is used for the whole window (stated approximation).
public struct CloudWatchLoadSource: MetricsSource {
    public let cloudWatch: CloudWatchAPI
    public let metric: MetricIdentity
    public let statistic: String
    public let step: Double
    public let groupName: String
    /// The group's in-service count at a time (used when GroupInServiceInstances is missing).
    public let currentInService: @Sendable (Date) async throws -> Int

    public init(
        cloudWatch: CloudWatchAPI, metric: MetricIdentity, statistic: String, step: Double, groupName: String,
        currentInService: @escaping @Sendable (Date) async throws -> Int
    ) {
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
            ], start: start, end: now)
        let utilization = (series.first { $0.id == "utilization" }?.points ?? []).sorted { $0.timestamp < $1.timestamp }
        let inService = Dictionary(
            (series.first { $0.id == "inservice" }?.points ?? []).map { ($0.timestamp, $0.value) },
            uniquingKeysWith: { $1 })
        let fallback = utilization.isEmpty ? 0 : Double(try await currentInService(now))
        return utilization.suffix(steps).map { point in
            LoadSample(time: point.timestamp, load: point.value * (inService[point.timestamp] ?? fallback))
        }
    }
}
