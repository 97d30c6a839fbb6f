import AWSSigning
import Cloud
import Foundation
import TestSupport
import Testing

/// Auto Scaling against moto with signature checking on.
@Suite("Auto Scaling against moto (signatures checked)")
struct AutoScalingMotoTests {
    @Test func createDescribeAndSetDesiredCapacity() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let client = moto.client()
        _ = try await client.query(
            service: "autoscaling", sdkID: "AUTO_SCALING", action: "CreateLaunchConfiguration", version: "2011-01-01",
            parameters: [
                ("LaunchConfigurationName", "web-lc"), ("ImageId", "ami-12345678"), ("InstanceType", "t3.micro"),
            ])
        for (index, name) in ["web-asg", "batch-asg", "api-asg"].enumerated() {
            _ = try await client.query(
                service: "autoscaling", sdkID: "AUTO_SCALING", action: "CreateAutoScalingGroup", version: "2011-01-01",
                parameters: [
                    ("AutoScalingGroupName", name), ("LaunchConfigurationName", "web-lc"),
                    ("MinSize", "1"), ("MaxSize", "10"), ("DesiredCapacity", String(index + 2)),
                    ("AvailabilityZones.member.1", "us-east-1a"),
                ])
        }
        let api = AutoScalingAPI(client: client)
        // Page size 1 forces the NextToken loop through all three groups.
        let all = try await api.describeAutoScalingGroups(pageSize: 1)
        #expect(Set(all.map(\.name)) == ["web-asg", "batch-asg", "api-asg"])
        let web = try #require(try await api.describeAutoScalingGroups(names: ["web-asg"]).first)
        #expect(web.desiredCapacity == 2 && web.minSize == 1 && web.maxSize == 10)
        #expect(web.inServiceInstances == 2)

        try await api.setDesiredCapacity(groupName: "web-asg", capacity: 5)
        let scaled = try #require(try await api.describeAutoScalingGroups(names: ["web-asg"]).first)
        #expect(scaled.desiredCapacity == 5)
        #expect(scaled.inServiceInstances == 5)
    }

    @Test func wrongSecretIsATypedSignatureDoesNotMatch() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let wrong = AWSCredentials(
            accessKeyID: moto.credentials.accessKeyID, secretAccessKey: moto.credentials.secretAccessKey + "x")
        do {
            _ = try await AutoScalingAPI(client: moto.client(credentials: wrong)).describeAutoScalingGroups()
            Issue.record("expected SignatureDoesNotMatch")
        } catch let error as AWSError {
            #expect(error.code == "SignatureDoesNotMatch", "\(error)")
            #expect(!error.isRetryable)
            #expect(!"\(error)".contains(moto.credentials.secretAccessKey))
        }
    }
}
