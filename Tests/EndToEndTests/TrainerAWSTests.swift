import AWSSigning
import Autoscaler
import Cloud
import FaultProxy
import Forecasting
import Foundation
import KubeClient
import KubeCore
import Simulation
import TestSupport
import Testing

/// The trainer against moto (signatures checked): history from CloudWatch for an Auto
/// Scaling group policy, the champion read from S3, the challenger promoted as a new
/// versioned key and then the pointer key, status updated.
@Suite(.serialized) struct TrainerAWSTests {
    @Test func historyFromCloudWatchArtefactToS3() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let aws = moto.client()
        try await moto.createAutoScalingGroup("shop", desired: 4, namespace: "default")
        // Three days of per-instance CPU with a daily wave and a slow rise.
        let now = Date()
        let points = (1...(3 * 288)).map { index -> (timestamp: Date, value: Double) in
            let step = Double(3 * 288 - index)
            return (
                now.addingTimeInterval(-Double(index) * 300), 30 + 0.01 * step + 15 * sin(2 * Double.pi * step / 288)
            )
        }
        try await CloudWatchAPI(client: aws).putMetricData(
            MetricIdentity(namespace: "AWS/EC2", name: "CPUUtilization", dimensions: ["AutoScalingGroupName": "shop"]),
            points: points)
        let s3 = S3API(client: aws)
        try await s3.createBucket("models")
        // A broken champion in S3: the challenger must replace it.
        var champion = try ModelArtefact.decode(
            try Data(contentsOf: Fixtures.root.appendingPathComponent("Models/seed-load.fsm")), path: "seed")
        champion.parameters = champion.parameters.map { -3 * $0 }
        _ = try await s3.putObject(bucket: "models", key: "default/shop/current.fsm", data: try champion.encoded())

        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        try await cluster.installScalingPolicyCRD(client)
        _ = try await client.create(
            .scalingPolicies, namespace: "default",
            [
                "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "metadata": ["name": "shop"],
                "spec": [
                    "target": ["kind": "AutoScalingGroup", "name": "shop", "region": "us-east-1"], "mode": "Predictive",
                    "model": ["artefact": "s3://models/default/shop/current.fsm"],
                ],
            ])
        let environment = [
            "AWS_ACCESS_KEY_ID": moto.credentials.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": moto.credentials.secretAccessKey,
            "AWS_ENDPOINT_URL": moto.endpoint, "AWS_REGION": "us-east-1",
        ]
        // The operator's rules: namespace default may read its group (tagged for it) and the trainer keeps
        // its champions under s3://models/<namespace>/<name>/.
        let rules = cluster.directory.file("access-rules.yaml")
        try Data(
            """
            artefactStore: s3://models/
            namespaces:
              default:
                autoScalingGroups: [{region: us-east-1, names: [shop]}]
            """.utf8
        ).write(to: URL(fileURLWithPath: rules))
        let arguments = [
            "trainer", "--policy", "default/shop", "--aws", "--kubeconfig", cluster.kubeconfigPath, "--history-days",
            "3", "--epochs", "6", "--hidden", "16", "--access-rules", rules,
        ]

        // A crash between the versioned write and the pointer update leaves the old model in
        // use: the trainer talks to S3 through a fault proxy that holds the pointer's PUT, and
        // is killed (-9) while it waits — after the versioned key was written.
        let proxy = FaultProxy(
            configuration: .init(upstream: moto.endpoint),
            rules: [
                FaultRule(
                    name: "hold-pointer", method: "PUT", pathPrefix: "/models/default/shop/current.fsm", fault: .hang)
            ])
        _ = try proxy.start()
        defer { proxy.shutdown() }
        var proxied = environment
        proxied["AWS_ENDPOINT_URL"] = proxy.url
        let trainer = try ForescaleBinary.start(arguments, environment: proxied)
        let deadline = ContinuousClock.now + .seconds(240)
        while proxy.counts.injected["hold-pointer"] == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(proxy.counts.injected["hold-pointer"] == 1, "the trainer reached the pointer update")
        #expect(
            proxy.recentRequests.contains { $0.hasPrefix("PUT /models/default/shop/versions/") },
            "the versioned key was written first")
        let crashed = await trainer.kill9()
        #expect(crashed.status != 0)
        guard case .object(let stillOld) = try await s3.getObject(bucket: "models", key: "default/shop/current.fsm")
        else {
            Issue.record("pointer vanished")
            return
        }
        #expect(stillOld.data == (try champion.encoded()), "the pointer still names the champion")

        let result = try await ForescaleBinary.run(arguments, environment: environment)
        #expect(
            result.status == 0,
            "stdout: \(result.stdout) stderr: \(result.stderr.suffix(1500)) crashed: \(crashed.stderr.suffix(800))")
        let status = try await client.get(.scalingPolicies, namespace: "default", name: "shop")
        let training = status.value(at: ["status", "training"])
        #expect(
            training?["historyPoints"]?.intValue ?? 0 >= 800,
            "history came from CloudWatch: \(String(describing: training))")
        guard training?["promoted"] == true else {
            Issue.record("not promoted: \(result.stdout)")
            return
        }
        guard case .object(let pointer) = try await s3.getObject(bucket: "models", key: "default/shop/current.fsm")
        else {
            Issue.record("no pointer object")
            return
        }
        let promoted = try ModelArtefact.decode(pointer.data, path: "s3")
        #expect(promoted.parameters != champion.parameters)
        let version = training?["challengerVersion"]?.stringValue ?? ""
        let listing = try await aws.send(
            service: "s3", sdkID: "S3", method: "GET", path: "/models",
            query: [("list-type", "2"), ("prefix", "default")], headers: [], body: [], s3: true, accepting: [])
        #expect(
            String(decoding: listing.body, as: UTF8.self).contains("shop/versions/"),
            "the versioned key was written too")
        #expect(String(decoding: listing.body, as: UTF8.self).contains("-\(version).fsm"))
    }

    /// A champion S3 cannot serve now (a 500 on every try) is an error, not "no champion": the run fails, and
    /// nothing is written over the champion it could not compare with.
    @Test func anUnreadableChampionIsAnErrorNotNone() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let s3 = S3API(client: moto.client())
        try await s3.createBucket("models")
        let champion = try Data(contentsOf: Fixtures.root.appendingPathComponent("Models/seed-load.fsm"))
        _ = try await s3.putObject(bucket: "models", key: "default/web/model.fsm", data: champion)
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        try await cluster.installScalingPolicyCRD(client)
        _ = try await client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: nil, calendar: nil))
        let rules = cluster.directory.file("access-rules.yaml")
        try Data("artefactStore: s3://models/\n".utf8).write(to: URL(fileURLWithPath: rules))
        let proxy = FaultProxy(
            configuration: .init(upstream: moto.endpoint),
            rules: [
                FaultRule(
                    name: "champion-5xx", method: "GET", pathPrefix: "/models/default/web/model.fsm",
                    fault: .aws(status: 500, code: "InternalError"))
            ])
        _ = try proxy.start()
        defer { proxy.shutdown() }
        let result = try await ForescaleBinary.run(
            [
                "trainer", "--policy", "default/web", "--aws", "--kubeconfig", cluster.kubeconfigPath,
                "--access-rules", rules,
            ],
            environment: [
                "AWS_ACCESS_KEY_ID": moto.credentials.accessKeyID,
                "AWS_SECRET_ACCESS_KEY": moto.credentials.secretAccessKey, "AWS_ENDPOINT_URL": proxy.url,
                "AWS_REGION": "us-east-1",
            ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("reading the champion"), "\(result.stderr)")
        #expect(!proxy.recentRequests.contains { $0.hasPrefix("PUT ") }, "nothing written")
        guard case .object(let still) = try await s3.getObject(bucket: "models", key: "default/web/model.fsm") else {
            Issue.record("the champion vanished")
            return
        }
        #expect(still.data == champion)
    }
}
