import AWSSigning
import Autoscaler
import Cloud
import Foundation
import KubeClient
import KubeCore
import Testing
import TestSupport

/// An AutoScalingGroup policy end to end: the policy in the embedded API server, the group
/// and its CPU metric in moto (signatures checked); the controller's SetDesiredCapacity is
/// visible in moto.
@Suite struct ControllerASGTests {
    @Test func reactivePolicyScalesTheGroupInMoto() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let aws = moto.client()
        _ = try await aws.query(service: "autoscaling", sdkID: "AUTO_SCALING", action: "CreateLaunchConfiguration", version: "2011-01-01", parameters: [
            ("LaunchConfigurationName", "web-lc"), ("ImageId", "ami-12345678"), ("InstanceType", "t3.micro"),
        ])
        _ = try await aws.query(service: "autoscaling", sdkID: "AUTO_SCALING", action: "CreateAutoScalingGroup", version: "2011-01-01", parameters: [
            ("AutoScalingGroupName", "web-asg"), ("LaunchConfigurationName", "web-lc"), ("MinSize", "1"), ("MaxSize", "10"),
            ("DesiredCapacity", "2"), ("AvailabilityZones.member.1", "us-east-1a"),
        ])
        // Two busy instances for the last hour: 90% CPU each = 180 load → 3 instances at 60%.
        let now = Date()
        let points = (1...12).map { (timestamp: now.addingTimeInterval(-Double($0) * 300), value: 90.0) }
        try await CloudWatchAPI(client: aws).putMetricData(MetricIdentity(namespace: "AWS/EC2", name: "CPUUtilization", dimensions: ["AutoScalingGroupName": "web-asg"]), points: points)

        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        let crd = try YAML.parse(String(decoding: try Data(contentsOf: Fixtures.root.appendingPathComponent("crds/scalingpolicy.yaml")), as: UTF8.self))
        _ = try await client.create(.customResourceDefinitions, namespace: nil, crd)
        let policy: JSONValue = [
            "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "metadata": ["name": "web"],
            "spec": ["target": ["kind": "AutoScalingGroup", "name": "web-asg", "region": "us-east-1"], "minCapacity": 1, "maxCapacity": 10, "mode": "Reactive",
                     "metrics": ["stepSeconds": 300, "staleAfterSeconds": 1200]],
        ]
        let created = try await client.create(.scalingPolicies, namespace: "default", policy)
        let targets = TargetRegistry(client: client, anchor: now, aws: { _ in aws })
        let controller = Controller(client: client, configuration: .init(namespace: "default"), targets: targets, now: { Date() })
        _ = try await controller.reconcile(policy: created)

        let group = try #require(try await AutoScalingAPI(client: aws).describeAutoScalingGroups(names: ["web-asg"]).first)
        #expect(group.desiredCapacity == 3)
        let status = try await client.get(.scalingPolicies, namespace: "default", name: "web")
        #expect(status.value(at: ["status", "lastAction", "to"]) == 3)
        #expect(status.value(at: ["status", "currentLoad"]) == .number(180))
    }
}
