import Cloud
import Foundation
import TestSupport
import Testing

/// CloudWatch against moto with signature checking on.
@Suite("CloudWatch against moto (signatures checked)")
struct CloudWatchMotoTests {
    @Test func sixHoursOfMinutePointsReadBackAtFiveMinutes() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let api = CloudWatchAPI(client: moto.client())
        // Period-aligned start so buckets are unambiguous.
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600 - 8 * 3600)
        let cpu = MetricIdentity(
            namespace: "Forescale/Test", name: "CPUUtilizationTest", dimensions: ["AutoScalingGroupName": "web-asg"])
        let requests = MetricIdentity(
            namespace: "Forescale/Test", name: "RequestCountTest", dimensions: ["AutoScalingGroupName": "web-asg"])
        let cpuPoints = (0..<360).map {
            (timestamp: start.addingTimeInterval(Double($0) * 60), value: Double($0 % 50) + 10)
        }
        let requestPoints = (0..<360).map {
            (timestamp: start.addingTimeInterval(Double($0) * 60), value: Double($0 * 3))
        }
        try await api.putMetricData(cpu, points: cpuPoints, batchSize: 100)
        try await api.putMetricData(requests, points: requestPoints, batchSize: 100)

        let series = try await api.getMetricData(
            [
                MetricQuery(id: "cpu", metric: cpu, periodSeconds: 300, statistic: "Average"),
                MetricQuery(id: "requests", metric: requests, periodSeconds: 300, statistic: "Sum"),
            ], start: start, end: start.addingTimeInterval(6 * 3600))
        #expect(series.map(\.id) == ["cpu", "requests"])
        #expect(series[0].points.count == 72)
        #expect(series[1].points.count == 72)
        for (bucket, point) in series[0].points.enumerated() {
            let expected = (0..<5).map { Double((bucket * 5 + $0) % 50) + 10 }.reduce(0, +) / 5
            #expect(abs(point.value - expected) < 1e-9, "cpu bucket \(bucket)")
            #expect(point.timestamp == start.addingTimeInterval(Double(bucket) * 300))
        }
        for (bucket, point) in series[1].points.enumerated() {
            let expected = (0..<5).map { Double((bucket * 5 + $0) * 3) }.reduce(0, +)
            #expect(abs(point.value - expected) < 1e-9, "requests bucket \(bucket)")
        }
    }
}
