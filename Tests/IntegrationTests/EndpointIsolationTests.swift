import Autoscaler
import Foundation
import KubeClient
import PolicyEngine
import Simulation
import TestSupport
import Testing
import Transport

/// The controller's own endpoints against a hostile neighbour: kept-alive connections from a few
/// addresses cannot lock the probes out, and a loopback server answers only requests addressed to it.
@Suite struct EndpointIsolationTests {
    static func endpoint() async throws -> (ControllerEndpoint, EmbeddedCluster, KubernetesClient) {
        let cluster = try EmbeddedCluster()
        let client = try cluster.kubeClient()
        let controller = Controller(
            client: client, configuration: .init(namespace: "default"),
            targets: TargetRegistry(client: client, anchor: Date()), now: { Date() })
        let endpoint = try ControllerEndpoint.start(controller: controller, address: "127.0.0.1", port: 0)
        return (endpoint, cluster, client)
    }

    @Test func keptAliveConnectionsFromAFewAddressesDoNotStarveTheProbes() async throws {
        let (endpoint, cluster, client) = try await Self.endpoint()
        defer {
            endpoint.shutdown()
            client.shutdown()
            cluster.stop()
        }
        // Four neighbours hold every connection the server has (64 = 4 × 16), each after one request.
        var held: [RawConnection] = []
        for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
            for _ in 0..<16 {
                let connection = try RawConnection(port: endpoint.port, from: source)
                connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                _ = connection.read(until: "ok")
                held.append(connection)
            }
        }
        // The probe still gets its answer.
        let probe = try RawConnection(port: endpoint.port)
        probe.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let answer = probe.readToEnd()
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
        withExtendedLifetime(held) {}
    }

    @Test(arguments: [
        ("localhost:8081", true), ("127.0.0.1", true), ("127.0.0.1:9", true), ("[::1]:8081", true),
        ("attacker.example", false), ("attacker.example:8081", false), ("127.0.0.1.attacker.example", false),
    ])
    func aLoopbackServerAnswersOnlyRequestsAddressedToIt(host: String, answered: Bool) async throws {
        let (endpoint, cluster, client) = try await Self.endpoint()
        defer {
            endpoint.shutdown()
            client.shutdown()
            cluster.stop()
        }
        let connection = try RawConnection(port: endpoint.port)
        // /healthz: a handler that needs no API call (these reads block the test's thread).
        connection.send("GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
        let text = connection.readToEnd()
        #expect(text.hasPrefix(answered ? "HTTP/1.1 200" : "HTTP/1.1 421"), "\(host): \(text.prefix(120))")
    }
}
