import APIServer
import Foundation
import KubeClient
import KubeCore
import TestSupport
import Testing
import Transport

/// Events age out as in kube-apiserver (--event-ttl): one store behind core/v1 and
/// events.k8s.io/v1, measured from the last write by the server's clock, other kinds kept.
@Suite struct EventTTLTests {
    final class Server: Sendable {
        let server: APIServer
        let clock: Locked<Date>
        let http = HTTPClient()

        init(ttl: Duration, virtual: Bool) throws {
            let clock = Locked(Date(timeIntervalSince1970: 1_800_000_000))
            self.clock = clock
            var configuration = APIServer.Configuration(token: "t0ken", plainHTTP: true)
            configuration.eventTTL = ttl
            if virtual { configuration.now = { clock.value } }
            server = try APIServer(configuration: configuration)
            _ = try server.start()
        }

        func send(_ method: String, _ path: String, _ body: JSONValue? = nil) async throws -> JSONValue {
            let type = method == "PATCH" ? "application/merge-patch+json" : "application/json"
            let response = try await http.execute(
                HTTPRequest(
                    method: method, url: "http://127.0.0.1:\(server.port)\(path)",
                    headers: ["Authorization": "Bearer t0ken", "Content-Type": type],
                    body: body?.serialized()))
            #expect(response.status < 300, "\(method) \(path): \(String(decoding: response.body, as: UTF8.self))")
            return try JSONValue(parsing: response.body)
        }

        func names(_ path: String) async throws -> Set<String> {
            Set(
                (try await send("GET", path)["items"]?.arrayValue ?? []).compactMap {
                    $0.value(at: ["metadata", "name"])?.stringValue
                })
        }

        func stop() {
            http.shutdown()
            server.shutdown(gracePeriod: .zero)
        }
    }

    static let core = "/api/v1/namespaces/default/events"
    static let events = "/apis/events.k8s.io/v1/namespaces/default/events"

    static func coreEvent(_ name: String) -> JSONValue {
        [
            "metadata": ["name": .string(name)], "reason": "ScaledUp", "message": "2 → 3",
            "involvedObject": ["kind": "ScalingPolicy", "name": "web", "namespace": "default"],
        ]
    }

    @Test func eventsOlderThanTheTTLAreDeletedAndNothingElse() async throws {
        let world = try Server(ttl: .seconds(3600), virtual: true)
        defer { world.stop() }
        _ = try await world.send("POST", Self.core, Self.coreEvent("old"))
        _ = try await world.send(
            "POST", Self.events,
            [
                "metadata": ["name": "old-v1"], "reason": "ScaledUp", "action": "Scale", "type": "Normal",
                "eventTime": "2027-01-15T08:00:00.000000Z", "reportingController": "forescale",
                "reportingInstance": "a",
                "regarding": ["kind": "ScalingPolicy", "name": "web", "namespace": "default"],
            ])
        _ = try await world.send("POST", "/api/v1/namespaces/default/configmaps", ["metadata": ["name": "calendar"]])
        _ = try await world.send("POST", Self.core, Self.coreEvent("updated-later"))
        world.clock.withLock { $0 = $0.addingTimeInterval(50 * 60) }
        _ = try await world.send("POST", Self.core, Self.coreEvent("fresh"))
        // A write renews an Event's life (an aggregated series' count going up).
        _ = try await world.send("PATCH", Self.core + "/updated-later", ["count": 2])
        world.clock.withLock { $0 = $0.addingTimeInterval(20 * 60) }

        #expect(world.server.expireEvents() == 2)
        #expect(try await world.names(Self.core) == ["fresh", "updated-later"])
        #expect(try await world.names(Self.events) == ["fresh", "updated-later"])
        #expect(try await world.names("/api/v1/namespaces/default/configmaps") == ["calendar"])
        #expect(world.server.expireEvents() == 0)
    }

    @Test func theServerSweepsOnItsOwn() async throws {
        let world = try Server(ttl: .milliseconds(200), virtual: false)
        defer { world.stop() }
        _ = try await world.send("POST", Self.core, Self.coreEvent("short-lived"))
        #expect(try await eventually { try await world.names(Self.core).isEmpty }, "the Event outlived its TTL")
    }
}
