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
