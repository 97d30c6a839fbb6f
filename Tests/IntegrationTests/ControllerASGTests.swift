import AWSSigning
import Autoscaler
import Cloud
import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import TestSupport
import Testing

/// An AutoScalingGroup policy end to end: the policy in the embedded API server, the group
/// and its CPU metric in moto (signatures checked); the controller's SetDesiredCapacity is
/// visible in moto.
@Suite struct ControllerASGTests {
    @Test func reactivePolicyScalesTheGroupInMoto() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let aws = moto.client()
        try await moto.createAutoScalingGroup("web-asg", desired: 2, namespace: "default")
        // Two busy instances for the last hour: 90% CPU each = 180 load → 3 instances at 60%.
        let now = Date()
        let points = (1...12).map { (timestamp: now.addingTimeInterval(-Double($0) * 300), value: 90.0) }
        try await CloudWatchAPI(client: aws).putMetricData(
            MetricIdentity(
                namespace: "AWS/EC2", name: "CPUUtilization", dimensions: ["AutoScalingGroupName": "web-asg"]),
            points: points)

        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        try await cluster.installScalingPolicyCRD(client)
        let policy: JSONValue = [
            "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "metadata": ["name": "web"],
            "spec": [
                "target": ["kind": "AutoScalingGroup", "name": "web-asg", "region": "us-east-1"], "minCapacity": 1,
                "maxCapacity": 10, "mode": "Reactive",
                "metrics": ["stepSeconds": 300, "staleAfterSeconds": 1200],
            ],
        ]
        let created = try await client.create(.scalingPolicies, namespace: "default", policy)
        var rule = AccessRules.NamespaceRule()
        rule.autoScalingGroups = [.init(region: "us-east-1", names: [.init("web-asg")])]
        let targets = TargetRegistry(
            client: client, anchor: now, aws: { _ in aws },
            access: AccessControl(rules: AccessRules(namespaces: ["default": rule], artefactStore: nil)))
        let controller = Controller(
            client: client, configuration: .init(namespace: "default"), targets: targets, now: { Date() })
        _ = try await controller.reconcile(policy: created)

        let group = try #require(
            try await AutoScalingAPI(client: aws).describeAutoScalingGroups(names: ["web-asg"]).first)
        #expect(group.desiredCapacity == 3)
        let status = try await client.get(.scalingPolicies, namespace: "default", name: "web")
        #expect(status.value(at: ["status", "lastAction", "to"]) == 3)
        #expect(status.value(at: ["status", "currentLoad"])?.doubleValue == 180)
    }

    /// Issue 31 on an Auto Scaling group: the present load from CloudWatch's newest complete 1-minute period, and a
    /// 5× jump met by the fast checks between 5-minute steps (moto, signatures checked). The metric is per
    /// instance (may exceed 100 %), published with GroupInServiceInstances so the load does not move as the
    /// group grows. CloudWatch's own delay in publishing a minute is not in this test: moto has none.
    @Test func aJumpInTheNewestMinuteIsMetBetweenSteps() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let aws = moto.client()
        try await moto.createAutoScalingGroup("web-asg", desired: 2, namespace: "default")
        let cloudWatch = CloudWatchAPI(client: aws)
        let dimensions = ["AutoScalingGroupName": "web-asg"]
        let metric = MetricIdentity(namespace: "Forescale/Test", name: "LoadPerInstance", dimensions: dimensions)
        let inService = MetricIdentity(
            namespace: "AWS/AutoScaling", name: "GroupInServiceInstances", dimensions: dimensions)
        func minute(_ offset: Int) -> Date {
            Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 + Double(offset) * 60)
        }
        func publish(_ value: Double, minutes: ClosedRange<Int>) async throws {
            try await cloudWatch.putMetricData(metric, points: minutes.map { (timestamp: minute($0), value: value) })
            try await cloudWatch.putMetricData(inService, points: minutes.map { (timestamp: minute($0), value: 2) })
        }
        // An hour at 50 % on 2 instances, up to the minute before last: load 100, 2 needed at 60 %, as set.
        try await publish(50, minutes: -60 ... -2)

        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        try await cluster.installScalingPolicyCRD(client)
        var rule = AccessRules.NamespaceRule()
        rule.autoScalingGroups = [.init(region: "us-east-1", names: [.init("web-asg")])]
        let controller = Controller(
            client: client, configuration: .init(namespace: "default"),
            targets: TargetRegistry(
                client: client, anchor: Date(), aws: { _ in aws },
                access: AccessControl(rules: AccessRules(namespaces: ["default": rule], artefactStore: nil))),
            now: { Date() }, log: .discard)
        let running = Task { await controller.run() }
        defer { running.cancel() }
        let created = ContinuousClock.now
        _ = try await client.create(
            .scalingPolicies, namespace: "default",
            [
                "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "metadata": ["name": "web"],
                "spec": [
                    "target": ["kind": "AutoScalingGroup", "name": "web-asg", "region": "us-east-1"],
                    "minCapacity": 1, "maxCapacity": 10, "mode": "Reactive",
                    "metrics": ["cloudwatch": ["namespace": "Forescale/Test", "metricName": "LoadPerInstance"]],
                ],
            ])
        #expect(
            try await eventually(within: .seconds(30), every: .milliseconds(500)) {
                try await client.get(.scalingPolicies, namespace: "default", name: "web").value(at: [
                    "status", "currentLoad",
                ])?.doubleValue == 100
            }, "first load within 30 s of creation")
        let firstLoad = ContinuousClock.now - created
        func desired() async throws -> Int {
            try await AutoScalingAPI(client: aws).describeAutoScalingGroups(names: ["web-asg"]).first?.desiredCapacity
                ?? 0
        }
        #expect(try await desired() == 2)

        // The next minute published (the last complete one) jumps 5×: load 500, 9 needed.
        try await publish(250, minutes: -1 ... -1)
        let reaction = try await Reaction.watch(from: 2, to: 9, within: .seconds(90)) { try await desired() }
        print("reaction on CloudWatch (moto): first load \(firstLoad), \(reaction)")
        #expect(reaction.firstUp.map { $0 < .seconds(45) } == true, "\(reaction)")
        #expect(reaction.reached.map { $0 < .seconds(60) } == true, "\(reaction)")
        #expect(reaction.seen == [2, 6, 9], "max(+4, +100 %) per fast check, to the need: \(reaction)")

        // The load falls back in the next minute published: the fast checks never scale in (a step pass would,
        // minutes away and stabilized).
        try await cloudWatch.putMetricData(metric, points: [(timestamp: minute(0), value: 20)])
        try await cloudWatch.putMetricData(inService, points: [(timestamp: minute(0), value: 9)])
        try await Task.sleep(for: .seconds(20))
        #expect(try await desired() == 9, "no scale-in from the fast path")
    }

    @Test func modelsLoadFromS3AndReloadWhenTheObjectChanges() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let s3 = S3API(client: moto.client())
        try await s3.createBucket("models")
        let original = try Data(contentsOf: Fixtures.root.appendingPathComponent("Models/seed-load.fsm"))
        _ = try await s3.putObject(bucket: "models", key: "web/current.fsm", data: original)
        let registry = ModelRegistry(s3: { s3 })
        let first = try await registry.model("s3://models/web/current.fsm", now: Date()).get()
        let again = try await registry.model("s3://models/web/current.fsm", now: Date()).get()
        #expect(
            first.version == again.version && first.loadedAt == again.loadedAt,
            "unchanged object: the cached model (ETag match)")

        var artefact = try ModelArtefact.decode(original, path: "seed")
        artefact.header.createdAt = Date(timeIntervalSince1970: 1_900_000_000)
        _ = try await s3.putObject(bucket: "models", key: "web/current.fsm", data: try artefact.encoded())
        let promoted = try await registry.model("s3://models/web/current.fsm", now: Date().addingTimeInterval(1)).get()
        #expect(promoted.version != first.version, "a changed object is reloaded")

        var corrupt = original
        corrupt[corrupt.count / 2] ^= 0xFF
        _ = try await s3.putObject(bucket: "models", key: "web/corrupt.fsm", data: corrupt)
        guard case .failure(.corrupt(let message)) = await registry.model("s3://models/web/corrupt.fsm", now: Date())
        else {
            Issue.record("corrupt object accepted")
            return
        }
        #expect(message.contains("checksum"))
    }
}
