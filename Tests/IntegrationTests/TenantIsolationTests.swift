import AWSSigning
import Autoscaler
import Cloud
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import Synchronization
import TestSupport
import Testing
import Transport

/// A hostile tenant against real peers (moto with signatures checked, loopback listeners): what one
/// namespace's policy names is allowed by the operator's rules for that namespace before any call, and a
/// good tenant beside it keeps scaling.
@Suite struct TenantIsolationTests {
    static let rules = """
        namespaces:
          tenant-a:
            autoScalingGroups: [{region: us-east-1, names: ["tenant-a-*"]}]
          tenant-b:
            autoScalingGroups: [{region: us-east-1, names: ["tenant-b-*"]}]
          loose:
            autoScalingGroups: [{region: us-east-1, names: ["*"]}]
        """

    static func policy(_ name: String, group: String, extra: [String: JSONValue] = [:]) -> JSONValue {
        var spec: [String: JSONValue] = [
            "target": ["kind": "AutoScalingGroup", "name": .string(group), "region": "us-east-1"], "minCapacity": 0,
            "maxCapacity": 10, "mode": "Reactive", "metrics": ["stepSeconds": 300, "staleAfterSeconds": 1200],
        ]
        for (key, value) in extra { spec[key] = value }
        return [
            "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "metadata": ["name": .string(name)],
            "spec": .object(spec),
        ]
    }

    static func createNamespaces(_ names: [String], _ client: KubernetesClient) async throws {
        for name in names {
            _ = try await client.create(
                .namespaces, namespace: nil,
                ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]])
        }
    }

    /// AWS clients handed out per region, counted: a denied policy must never get one.
    final class CountingAWS: Sendable {
        let client: AWSClient
        let handedOut = Atomic<Int>(0)
        init(_ client: AWSClient) { self.client = client }
        @Sendable func client(region: String) async throws -> AWSClient {
            handedOut.add(1, ordering: .relaxed)
            return client
        }
    }

    /// One moto and one API server for every AWS attack (moto is slow to start beside the rest of the suite).
    @Test func aPolicyCannotScaleOrReadAnotherTenantsGroup() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let aws = moto.client()
        try await moto.createAutoScalingGroup("tenant-b-payments", desired: 6, namespace: "tenant-b")
        try await moto.createAutoScalingGroup("tenant-a-web", desired: 2, namespace: "tenant-a")
        let now = Date()
        for group in ["tenant-a-web", "tenant-b-payments"] {
            try await CloudWatchAPI(client: aws).putMetricData(
                MetricIdentity(
                    namespace: "AWS/EC2", name: "CPUUtilization", dimensions: ["AutoScalingGroupName": group]),
                points: (1...12).map {
                    (timestamp: now.addingTimeInterval(-Double($0) * 300), value: group == "tenant-a-web" ? 90.0 : 1.0)
                })
        }
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        try await cluster.installScalingPolicyCRD(client)
        try await Self.createNamespaces(["tenant-a", "tenant-b", "loose"], client)
        let access = AccessControl(rules: try AccessRules.parse(Data(Self.rules.utf8), path: "rules"))
        let counting = CountingAWS(aws)
        let controller = Controller(
            client: client, configuration: .init(),
            targets: TargetRegistry(client: client, anchor: now, aws: counting.client(region:), access: access),
            now: { Date() })

        // The attack: tenant-a names tenant-b's group (and reads its metric) with a policy that would scale it to 0.
        let evil = try await client.create(
            .scalingPolicies, namespace: "tenant-a", Self.policy("evil", group: "tenant-b-payments"))
        _ = try await controller.reconcile(policy: evil)
        #expect(counting.handedOut.load(ordering: .relaxed) == 0, "a denied policy makes no AWS call at all")
        let denied = try await client.get(.scalingPolicies, namespace: "tenant-a", name: "evil")
        let ready = denied.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"] == "Ready" }
        #expect(ready?["status"] == "False")
        #expect(ready?["reason"] == "AccessDenied")
        #expect(ready?["message"]?.stringValue?.contains("namespaces.tenant-a.autoScalingGroups") == true)

        // An operator rule that is too loose is caught by the group's own tag, before any SetDesiredCapacity.
        let loose = try await client.create(
            .scalingPolicies, namespace: "loose", Self.policy("evil", group: "tenant-b-payments"))
        _ = try await controller.reconcile(policy: loose)
        let looseStatus = try await client.get(.scalingPolicies, namespace: "loose", name: "evil")
        let looseReady = looseStatus.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"] == "Ready" }
        #expect(looseReady?["reason"] == "AccessDenied")
        #expect(looseReady?["message"]?.stringValue?.contains("not tagged forescale.io/namespace=loose") == true)

        // The good tenant beside them keeps scaling its own group.
        let good = try await client.create(
            .scalingPolicies, namespace: "tenant-a", Self.policy("web", group: "tenant-a-web"))
        _ = try await controller.reconcile(policy: good)
        let groups = try await AutoScalingAPI(client: aws).describeAutoScalingGroups(names: [
            "tenant-a-web", "tenant-b-payments",
        ])
        #expect(
            groups.first { $0.name == "tenant-b-payments" }?.desiredCapacity == 6, "the other tenant's group untouched")
        #expect(groups.first { $0.name == "tenant-a-web" }?.desiredCapacity == 3, "2 × 90 % = 180 load → 3 at 60 %")

        // Another group's metric read into the tenant's status, through its own group's policy: refused, no call.
        let before = counting.handedOut.load(ordering: .relaxed)
        let spy = try await client.create(
            .scalingPolicies, namespace: "tenant-a",
            Self.policy(
                "spy", group: "tenant-a-web",
                extra: [
                    "metrics": [
                        "cloudwatch": [
                            "metricName": "CPUUtilization", "dimensions": ["AutoScalingGroupName": "tenant-b-payments"],
                        ]
                    ]
                ]))
        _ = try await controller.reconcile(policy: spy)
        #expect(counting.handedOut.load(ordering: .relaxed) == before, "no AWS call for the spy")
        let spyStatus = try await client.get(.scalingPolicies, namespace: "tenant-a", name: "spy")
        #expect(spyStatus.value(at: ["status", "currentLoad"]) == nil)
        let spyReady = spyStatus.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"] == "Ready" }
        #expect(spyReady?["reason"] == "AccessDenied")
        #expect(spyReady?["message"]?.stringValue?.contains("cloudWatchMetrics") == true)
    }

    /// An S3 artefact whose "bucket" is a host of the tenant's choosing is refused before anything is sent:
    /// no connection, no signed request (key id, session token) to the tenant's server.
    @Test func aBucketNameNeverBecomesAnotherHost() async throws {
        let listener = try RecordingServer()
        defer { listener.stop() }
        var configuration = AWSConfiguration(
            region: "us-east-1", credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s"))
        configuration.environment = [:]
        let s3 = S3API(client: AWSClient(configuration: configuration))
        for bucket in ["127.0.0.1:\(listener.port)#", "attacker.example#", "localhost:\(listener.port)/x?"] {
            await #expect(throws: AWSError.self) { _ = try await s3.getObject(bucket: bucket, key: "model.fsm") }
        }
        let registry = ModelRegistry(s3: { s3 })
        let observed = await registry.observe("s3://127.0.0.1:\(listener.port)#/x", for: "tenant-a/p", now: Date())
        guard case .unavailable(.unsupported, let message) = observed else {
            Issue.record("an artefact URL with a host for a bucket was not refused: \(observed)")
            return
        }
        #expect(message.contains("bucket"))
        #expect(listener.requests.isEmpty, "nothing reached the tenant's listener")
    }

    /// An answer past its use's cap is refused as it arrives (or at once, by its Content-Length): the client
    /// holds at most the cap, however much the server would send.
    @Test func anAnswerLargerThanItsCapIsAbandoned() async throws {
        let sent = Atomic<Int>(0)
        let server = HTTPServer(configuration: .init(address: "127.0.0.1", port: 0)) { request, writer in
            // 400 MiB in 1 MiB chunks, until the client goes away.
            writer.beginStream(status: 200, headers: ["Content-Type": "application/json"])
            let chunk = Data(repeating: 0x20, count: 1 << 20)
            for _ in 0..<400 {
                guard writer.write(chunk) else { break }
                sent.add(chunk.count, ordering: .relaxed)
            }
            writer.endStream()
        }
        let port = try server.start()
        defer { server.shutdown() }
        let client = HTTPClient()
        defer { client.shutdown() }
        let cap = 8 << 20
        await #expect {
            _ = try await client.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/stream", maxResponseBytes: cap))
        } throws: { error in
            guard case .responseTooLarge(let limit) = error as? TransportError else { return false }
            return limit == cap
        }
        _ = try await eventually { sent.load(ordering: .relaxed) < 400 << 20 }
        #expect(sent.load(ordering: .relaxed) < 400 << 20, "the transfer was abandoned, not read to the end")
        // Prometheus's own cap: a 400 MiB answer is an unreachable source, not the controller's memory.
        let prometheus = try PrometheusAPI(client: client, configuration: .init(url: "http://127.0.0.1:\(port)"))
        await #expect {
            _ = try await prometheus.queryRange("up", start: Date().addingTimeInterval(-600), end: Date(), step: 60)
        } throws: { error in
            guard case .unreachable(let message) = error as? PrometheusError else { return false }
            return message.contains("larger than")
        }
    }

    /// Header fields configured for one Prometheus server go to it alone; a tenant's server (allowed by a rule)
    /// gets no credentials and only its own fields.
    @Test func credentialsAndHeadersGoOnlyToTheirServer() async throws {
        let operatorServer = try RecordingServer(
            answer: #"{"status":"success","data":{"resultType":"matrix","result":[]}}"#)
        defer { operatorServer.stop() }
        let tenantServer = try RecordingServer(
            answer: #"{"status":"success","data":{"resultType":"matrix","result":[]}}"#)
        defer { tenantServer.stop() }
        let token = try TemporaryDirectory().file("token")
        try Data("operator-secret\n".utf8).write(to: URL(fileURLWithPath: token))
        let configuration = PrometheusConfiguration(
            url: "http://127.0.0.1:\(operatorServer.port)", bearerTokenFile: token,
            headers: [("X-Scope-OrgID", "operator")])
        let client = HTTPClient()
        defer { client.shutdown() }
        let rules = try AccessRules.parse(
            Data(
                """
                namespaces:
                  tenant-a:
                    prometheus: [{url: "http://127.0.0.1:\(tenantServer.port)", headers: {X-Scope-OrgID: tenant-a}}]
                """.utf8), path: "rules")
        guard
            case .success(.address(let url, let headers)) = rules.prometheusServer(
                namespace: "tenant-a", address: "http://127.0.0.1:\(tenantServer.port)")
        else {
            Issue.record("the rule's server is allowed")
            return
        }
        let tenant = try PrometheusAPI(
            client: client, configuration: configuration, address: url, headers: headers.map { ($0.name, $0.value) })
        _ = try await tenant.queryRange("up", start: Date().addingTimeInterval(-600), end: Date(), step: 60)
        let operatorAPI = try PrometheusAPI(client: client, configuration: configuration)
        _ = try await operatorAPI.queryRange("up", start: Date().addingTimeInterval(-600), end: Date(), step: 60)
        let tenantRequest = try #require(tenantServer.requests.first)
        #expect(tenantRequest["Authorization"] == nil)
        #expect(tenantRequest.values("X-Scope-OrgID") == ["tenant-a"])
        let operatorRequest = try #require(operatorServer.requests.first)
        #expect(operatorRequest["Authorization"] == "Bearer operator-secret")
        #expect(operatorRequest.values("X-Scope-OrgID") == ["operator"])
    }
}

/// A loopback HTTP server that records the header fields of every request and answers `answer`.
final class RecordingServer: Sendable {
    private let server: HTTPServer
    let port: Int
    private let recorded: Recorded

    final class Recorded: Sendable {
        let headers = Mutex<[HTTPHeaders]>([])
    }

    init(answer: String = "{}") throws {
        let recorded = Recorded()
        self.recorded = recorded
        server = HTTPServer(configuration: .init(address: "127.0.0.1", port: 0)) { request, writer in
            recorded.headers.withLock { $0.append(request.headers) }
            writer.respond(status: 200, contentType: "application/json", body: answer)
        }
        port = try server.start()
    }

    var requests: [HTTPHeaders] { recorded.headers.withLock { $0 } }
    func stop() { server.shutdown() }
}
