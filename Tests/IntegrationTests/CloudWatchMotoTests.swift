import Autoscaler
import Cloud
import Foundation
import PolicyEngine
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

/// An Auto Scaling group's load and its covariates (a predefined metric and an explicit
/// one) read in one GetMetricData call, aligned per timestamp.
@Suite("CloudWatch covariates against moto")
struct CloudWatchInputsMotoTests {
    @Test func loadAndInputsComeTogether() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let api = CloudWatchAPI(client: moto.client())
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600 - 4 * 3600)
        let group = ["AutoScalingGroupName": "shop"]
        func put(_ namespace: String, _ name: String, _ dimensions: [String: String], _ value: (Int) -> Double)
            async throws
        {
            try await api.putMetricData(
                MetricIdentity(namespace: namespace, name: name, dimensions: dimensions),
                points: (0..<36).map { (timestamp: start.addingTimeInterval(Double($0) * 300), value: value($0)) },
                batchSize: 50)
        }
        try await put("AWS/EC2", "CPUUtilization", group) { Double(40 + $0 % 10) }
        try await put("AWS/AutoScaling", "GroupInServiceInstances", group) { _ in 3 }
        try await put("AWS/EC2", "NetworkIn", group) { Double(1000 * $0) }
        try await put("Shop", "Orders", ["Store": "eu"]) { Double(7 * $0) }
        let spec = try PolicySpec.parse([
            "target": ["kind": "AutoScalingGroup", "name": "shop", "region": "us-east-1"],
            "metrics": [
                "inputs": [
                    ["name": "network_in", "cloudwatch": ["predefined": "ASGAverageNetworkIn"]],
                    [
                        "name": "orders",
                        "cloudwatch": [
                            "namespace": "Shop", "metricName": "Orders", "statistic": "Sum",
                            "dimensions": ["Store": "eu"],
                        ],
                    ],
                ]
            ],
        ]).get()
        let source = CloudWatchLoadSource(
            cloudWatch: api, metric: MetricIdentity(namespace: "AWS/EC2", name: "CPUUtilization", dimensions: group),
            statistic: "Average",
            step: 300, groupName: "shop", inputs: spec.inputs, currentInService: { _ in 3 })
        let samples = try await source.loadHistory(until: start.addingTimeInterval(35 * 300 + 1), steps: 24)
        #expect(samples.count == 24)
        // Each datapoint k carries CPU 40 + k % 10, NetworkIn 1000 k and Orders 7 k: a sample
        // holds all three of the same k (aligned by timestamp), in the policy's order.
        for sample in samples {
            let index = Int(sample.inputs.first ?? -1) / 1000
            #expect(sample.load == Double(40 + index % 10) * 3, "load = CPU × in service at \(index)")
            #expect(sample.inputs == [Double(1000 * index), Double(7 * index)], "inputs at \(index)")
        }
        #expect(Set(samples.map { Int($0.inputs.first ?? 0) / 1000 }).count == 24, "24 distinct datapoints")
    }
}

/// The newest load from CloudWatch (issue 31): the newest complete 1-minute period, not the step grid's
/// 5-minute average, times the group's in-service count then.
@Suite("CloudWatch's newest minute against moto")
struct CloudWatchNewestMotoTests {
    @Test func theNewestCompleteMinuteIsThePresentLoad() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let api = CloudWatchAPI(client: moto.client())
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 + 20)
        let group = ["AutoScalingGroupName": "shop"]
        let cpu = MetricIdentity(namespace: "AWS/EC2", name: "CPUUtilization", dimensions: group)
        let inService = MetricIdentity(namespace: "AWS/AutoScaling", name: "GroupInServiceInstances", dimensions: group)
        // Ten minutes at 20 %, then a jump to 90 % in the last complete minute; the current minute (20 s old,
        // incomplete) already says 95 %.
        let minutes = (1...10).map { now.addingTimeInterval(-20 - Double($0) * 60) }
        try await api.putMetricData(
            cpu, points: minutes.map { (timestamp: $0, value: $0 == minutes[0] ? 90.0 : 20.0) }, batchSize: 20)
        try await api.putMetricData(cpu, points: [(timestamp: now.addingTimeInterval(-20), value: 95)], batchSize: 1)
        try await api.putMetricData(inService, points: minutes.map { (timestamp: $0, value: 4) }, batchSize: 20)
        let source = CloudWatchLoadSource(
            cloudWatch: api, metric: cpu, statistic: "Average", step: 300, groupName: "shop",
            currentInService: { _ in 3 })
        let newest = try #require(try await source.newest(at: now))
        #expect(newest.time == minutes[0], "the newest complete minute, by its start")
        #expect(newest.load == 360, "90 % × 4 in service then")
        #expect(source.refreshesWithinStep)

        // A metric with nothing in the last ten minutes (basic monitoring, or none yet): nothing newer.
        let quiet = CloudWatchLoadSource(
            cloudWatch: api,
            metric: MetricIdentity(
                namespace: "AWS/EC2", name: "CPUUtilization", dimensions: ["AutoScalingGroupName": "idle"]),
            statistic: "Average", step: 300, groupName: "idle", currentInService: { _ in 3 })
        #expect(try await quiet.newest(at: now) == nil)

        // GroupInServiceInstances lagging the load's metric (not yet published for the newest minute) after a
        // scale-up from 4 to 12: the newest count published before it (4), not the 12 in service now — which would
        // read 90 % of four instances as 90 % of twelve, and chase its own scale-up to the maximum.
        let lagging = ["AutoScalingGroupName": "lagging"]
        let laggingCPU = MetricIdentity(namespace: "AWS/EC2", name: "CPUUtilization", dimensions: lagging)
        try await api.putMetricData(
            laggingCPU, points: minutes.map { (timestamp: $0, value: $0 == minutes[0] ? 90.0 : 20.0) }, batchSize: 20)
        try await api.putMetricData(
            MetricIdentity(namespace: "AWS/AutoScaling", name: "GroupInServiceInstances", dimensions: lagging),
            points: minutes.dropFirst().map { (timestamp: $0, value: 4) }, batchSize: 20)
        let afterScaleUp = CloudWatchLoadSource(
            cloudWatch: api, metric: laggingCPU, statistic: "Average", step: 300, groupName: "lagging",
            currentInService: { _ in 12 })
        #expect(try await afterScaleUp.newest(at: now)?.load == 360, "90 % × the 4 last published")
    }

    /// Fast checks of many groups in one region share GetMetricData calls of up to 500 queries, each check getting
    /// its own group's answer.
    @Test func checksOfManyGroupsShareCalls() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let api = CloudWatchAPI(client: moto.client())
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 + 20)
        let minute = now.addingTimeInterval(-80)
        let groups = 260
        for index in 0..<groups {
            try await api.putMetricData(
                MetricIdentity(
                    namespace: "AWS/EC2", name: "CPUUtilization", dimensions: ["AutoScalingGroupName": "g\(index)"]),
                points: [(timestamp: minute, value: Double(index % 100))], batchSize: 1)
        }
        let batches = MetricBatches(gather: .milliseconds(200))
        func source(_ index: Int) -> CloudWatchLoadSource {
            CloudWatchLoadSource(
                cloudWatch: api,
                metric: MetricIdentity(
                    namespace: "AWS/EC2", name: "CPUUtilization", dimensions: ["AutoScalingGroupName": "g\(index)"]),
                statistic: "Average", step: 300, groupName: "g\(index)", batches: (batches, "us-east-1"),
                currentInService: { _ in 2 })
        }
        func checkAll(_ count: Int) async throws -> [Int: Double] {
            try await withThrowingTaskGroup(of: (Int, Double?).self) { group in
                for index in 0..<count { group.addTask { (index, try await source(index).newest(at: now)?.load) } }
                var loads: [Int: Double] = [:]
                for try await (index, load) in group { loads[index] = load }
                return loads
            }
        }
        let few = try await checkAll(40)
        #expect(batches.callsSent == 1, "forty checks (80 queries), one call: \(batches.callsSent)")
        #expect((0..<40).allSatisfy { few[$0] == Double($0 % 100) * 2 }, "each its own group's load")
        let all = try await checkAll(groups)
        let calls = batches.callsSent - 1
        #expect(calls >= 2 && calls <= 4, "520 queries in calls of at most 500: \(calls)")
        #expect((0..<groups).allSatisfy { all[$0] == Double($0 % 100) * 2 }, "each its own group's load")
    }
}
