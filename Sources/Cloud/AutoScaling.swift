import Foundation

/// An EC2 Auto Scaling group as Forescale needs it.
public struct AutoScalingGroup: Sendable, Equatable {
    public var name: String
    public var minSize: Int
    public var maxSize: Int
    public var desiredCapacity: Int
    /// Instances whose lifecycle state is InService (the capacity that serves load now).
    public var inServiceInstances: Int
    public var instances: Int
    /// The group's tags (`Key` → `Value`).
    public var tags: [String: String] = [:]
}

/// EC2 Auto Scaling (Query protocol, API version 2011-01-01).
public struct AutoScalingAPI: Sendable {
    public let client: AWSClient
    static let version = "2011-01-01"

    public init(client: AWSClient) {
        self.client = client
    }

    func call(_ action: String, _ parameters: [(String, String)]) async throws -> XMLTree {
        try await client.queryXML(
            service: "autoscaling", sdkID: "AUTO_SCALING", action: action, version: Self.version, parameters: parameters
        )
    }

    /// A launch configuration `NAME-lc` and a group `name` using it in one zone: what the
    /// tests and the soak create in moto (a real account would use a launch template).
    public func createGroup(
        _ name: String, desired: Int, minSize: Int = 1, maxSize: Int = 10, zone: String = "us-east-1a",
        tags: [String: String] = [:]
    )
        async throws
    {
        var tagParameters: [(String, String)] = []
        for (index, tag) in tags.sorted(by: { $0.key < $1.key }).enumerated() {
            tagParameters += [
                ("Tags.member.\(index + 1).Key", tag.key), ("Tags.member.\(index + 1).Value", tag.value),
                ("Tags.member.\(index + 1).ResourceId", name),
                ("Tags.member.\(index + 1).ResourceType", "auto-scaling-group"),
                ("Tags.member.\(index + 1).PropagateAtLaunch", "false"),
            ]
        }
        _ = try await call(
            "CreateLaunchConfiguration",
            [("LaunchConfigurationName", "\(name)-lc"), ("ImageId", "ami-12345678"), ("InstanceType", "t3.micro")])
        _ = try await call(
            "CreateAutoScalingGroup",
            [
                ("AutoScalingGroupName", name), ("LaunchConfigurationName", "\(name)-lc"), ("MinSize", String(minSize)),
                ("MaxSize", String(maxSize)), ("DesiredCapacity", String(desired)),
                ("AvailabilityZones.member.1", zone),
            ] + tagParameters)
    }

    /// DescribeAutoScalingGroups, following NextToken until every page is read.
    public func describeAutoScalingGroups(names: [String] = [], pageSize: Int = 50) async throws -> [AutoScalingGroup] {
        var groups: [AutoScalingGroup] = []
        var token: String?
        repeat {
            var parameters = names.enumerated().map { ("AutoScalingGroupNames.member.\($0.offset + 1)", $0.element) }
            parameters.append(("MaxRecords", String(pageSize)))
            if let token { parameters.append(("NextToken", token)) }
            let root = try await call("DescribeAutoScalingGroups", parameters)
            for member in root.elements(path: ["DescribeAutoScalingGroupsResult", "AutoScalingGroups", "member"]) {
                guard let name = member.text("AutoScalingGroupName"),
                    let minSize = member.text("MinSize").flatMap(Int.init),
                    let maxSize = member.text("MaxSize").flatMap(Int.init),
                    let desired = member.text("DesiredCapacity").flatMap(Int.init)
                else {
                    throw AWSError.malformedResponse("DescribeAutoScalingGroups: group without name or sizes")
                }
                let instances = member.elements(path: ["Instances", "member"])
                var tags: [String: String] = [:]
                for tag in member.elements(path: ["Tags", "member"]) {
                    if let key = tag.text("Key") { tags[key] = tag.text("Value") ?? "" }
                }
                groups.append(
                    AutoScalingGroup(
                        name: name, minSize: minSize, maxSize: maxSize, desiredCapacity: desired,
                        inServiceInstances: instances.filter { $0.text("LifecycleState") == "InService" }.count,
                        instances: instances.count, tags: tags))
            }
            let next = root.elements(path: ["DescribeAutoScalingGroupsResult", "NextToken"]).first?.stringValue
            token = (next?.isEmpty ?? true) ? nil : next
        } while token != nil
        return groups
    }

    /// SetDesiredCapacity. With `honorCooldown`, AWS refuses while the group is in a cooldown.
    public func setDesiredCapacity(groupName: String, capacity: Int, honorCooldown: Bool = false) async throws {
        _ = try await call(
            "SetDesiredCapacity",
            [
                ("AutoScalingGroupName", groupName),
                ("DesiredCapacity", String(capacity)),
                ("HonorCooldown", honorCooldown ? "true" : "false"),
            ])
    }
}

/// One entry of DescribeScalingActivities.
public struct ScalingActivity: Sendable, Equatable {
    public var activityID: String
    public var description: String
    public var cause: String
    public var statusCode: String
    public var startTime: Date?
}

extension AutoScalingAPI {
    /// DescribeScalingActivities for one group, newest first, up to `maxRecords`.
    public func describeScalingActivities(groupName: String, maxRecords: Int = 20) async throws -> [ScalingActivity] {
        let root = try await call(
            "DescribeScalingActivities", [("AutoScalingGroupName", groupName), ("MaxRecords", String(maxRecords))])
        return root.elements(path: ["DescribeScalingActivitiesResult", "Activities", "member"]).map { member in
            ScalingActivity(
                activityID: member.text("ActivityId") ?? "",
                description: member.text("Description") ?? "",
                cause: member.text("Cause") ?? "",
                statusCode: member.text("StatusCode") ?? "",
                startTime: member.text("StartTime").flatMap(CloudWatchAPI.parseTimestamp))
        }
    }
}
