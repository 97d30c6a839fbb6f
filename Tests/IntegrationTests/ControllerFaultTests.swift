import Autoscaler
import FaultProxy
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import TestSupport
import Testing
import Transport

/// The controller behind a fault proxy to the embedded API server: it waits as long as the
/// server asks, says what fails, and its probes tell the truth.
@Suite(.serialized) struct ControllerFaultTests {
    final class World: Sendable {
        let cluster: EmbeddedCluster
        let proxy: FaultProxy
        let client: KubernetesClient
        let controller: Controller
        let endpoint: ControllerEndpoint
        let logs = LogLines()
        let http = HTTPClient()

        init() async throws {
            cluster = try EmbeddedCluster()
            var upstreamTLS = TLSConfiguration()
            upstreamTLS.certificateAuthority = cluster.server.certificatePEM.map { .pem(Data($0.utf8)) }
            proxy = FaultProxy(configuration: .init(upstream: cluster.baseURL, upstreamTLS: upstreamTLS))
            _ = try proxy.start()
            client = KubernetesClient(
                connection: ClusterConnection(server: proxy.url, authentication: .bearerToken(cluster.token)),
                fieldManager: "forescale-controller")
            let direct = try cluster.kubeClient()
            try await cluster.installScalingPolicyCRD(direct)
            direct.shutdown()
            let anchor = Date(timeIntervalSince1970: 1_800_000_000)
            let start = try SeedScenario.virtualStart(anchor: anchor).start
            var configuration = Controller.Configuration(namespace: "default")
            configuration.speed = 300
            configuration.apiFailureGrace = .seconds(1)
            configuration.failureLogInterval = .milliseconds(500)
            let began = ContinuousClock.now
            controller = Controller(
                client: client, configuration: configuration,
                targets: TargetRegistry(client: client, anchor: anchor), clock: ContinuousClock(),
                now: { start.addingTimeInterval((ContinuousClock.now - began).seconds * 300) },
                log: Logger(format: .json, sink: logs.sink))
            endpoint = try ControllerEndpoint.start(controller: controller, address: "127.0.0.1", port: 0)
            _ = try await client.create(
                .scalingPolicies, namespace: "default",
                SeedScenario.policy(name: "web", mode: "Reactive", modelURL: nil, calendar: nil))
        }

        func probe(_ path: String) async throws -> Int {
            try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(endpoint.port)\(path)")).status
        }

        func logged(_ message: String) -> [JSONValue] {
            logs.all.compactMap { try? JSONValue(parsing: Data($0.utf8)) }.filter { $0["msg"]?.stringValue == message }
        }

        func stop() {
            endpoint.shutdown()
            http.shutdown()
            client.shutdown()
            proxy.shutdown()
            cluster.stop()
        }
    }

    static let statusPrefix = "/apis/forescale.io/v1alpha1/namespaces/default/scalingpolicies/web/status"

    /// 429 with Retry-After: 60 on every status write: the controller asks once and then
    /// waits, instead of retrying hundreds of times.
    @Test func retryAfterIsHonoured() async throws {
        let world = try await World()
        defer { world.stop() }
        world.proxy.add(
            FaultRule(
                name: "throttle-status", method: "PATCH", pathPrefix: Self.statusPrefix,
                fault: .status(429, retryAfterSeconds: 60)))
        let running = Task { await world.controller.run() }
        func patches() -> Int { world.proxy.recentRequests.filter { $0.hasPrefix("PATCH \(Self.statusPrefix)") }.count }
        // From the first refused write (a loaded machine may take a while to get there) …
        let deadline = ContinuousClock.now + .seconds(60)
        while patches() == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let first = patches()
        // … five seconds in which Retry-After: 60 allows no new attempt (one may be in flight).
        try await Task.sleep(for: .seconds(5))
        running.cancel()
        await running.value
        let asked = patches()
        #expect(first >= 1 && asked - first <= 1, "asked \(asked - first) more times in 5 s after the first")
        let throttled = world.logged("API calls failed").filter { $0["kind"] == "Throttled" }
        #expect(!throttled.isEmpty, "the throttling is logged: \(world.logs.all.suffix(5))")
    }

    /// Every call refused as unauthenticated: /readyz fails after the grace, /healthz after
    /// twice it; both recover when calls get through again.
    @Test func probesReflectAnAPIServerThatRefusesUs() async throws {
        let world = try await World()
        defer { world.stop() }
        let running = Task { await world.controller.run() }
        defer { running.cancel() }
        #expect(try await eventually { try await world.probe("/readyz") == 200 })
        #expect(try await world.probe("/healthz") == 200)

        world.proxy.add(FaultRule(name: "refuse", fault: .status(401, retryAfterSeconds: nil)))
        var statuses: (ready: Int, healthy: Int) = (200, 200)
        _ = try await eventually(every: .milliseconds(200)) {
            statuses = (try await world.probe("/readyz"), try await world.probe("/healthz"))
            return statuses == (503, 503)
        }
        #expect(statuses == (503, 503), "readyz \(statuses.ready), healthz \(statuses.healthy) while every call is 401")
        #expect(world.logged("API calls failed").contains { $0["kind"] == "Unauthorized" })

        world.proxy.clearRules()
        _ = try await eventually(every: .milliseconds(200)) {
            statuses = (try await world.probe("/readyz"), try await world.probe("/healthz"))
            return statuses == (200, 200)
        }
        #expect(statuses == (200, 200), "recovered: readyz \(statuses.ready), healthz \(statuses.healthy)")
    }
}
