import Foundation
import KubeClient
import KubeCore
import TestSupport
import Testing

/// Our Kubernetes client against the embedded API server over HTTPS (kubeconfig with CA and token).
@Suite struct KubeClientTests {
    @Test func verbsTypedObjectsAndScale() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        let configMaps = TypedClient<ConfigMap>(client)

        var created = try await configMaps.create(
            ConfigMap(namespace: "default", name: "calendar", data: ["black-friday": "2026-11-27"]))
        #expect(created.data == ["black-friday": "2026-11-27"] && !created.resourceVersion.isEmpty)
        created.data["cyber-monday"] = "2026-11-30"
        let updated = try await configMaps.update(created)
        #expect(updated.data.count == 2)
        let patched = try await configMaps.patch(
            namespace: "default", name: "calendar", .merge(["data": ["cyber-monday": nil]]))
        #expect(patched.data == ["black-friday": "2026-11-27"])
        let applied = try await client.patch(
            .configMaps, namespace: "default", name: "applied",
            .apply(
                ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "applied"], "data": ["a": "1"]],
                force: false))
        #expect(applied.value(at: ["metadata", "managedFields"])?.arrayValue?.first?["manager"] == "forescale-test")
        #expect(try await configMaps.list(namespace: "default").map(\.name) == ["applied", "calendar"])

        let deployment = try YAML.parse(
            String(
                decoding: try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("kube/deployment.yaml"))),
                as: UTF8.self))
        _ = try await client.create(.deployments, namespace: "default", deployment)
        let scaled = try await client.setScale(.deployments, namespace: "default", name: "web", replicas: 5)
        #expect(scaled.specReplicas == 5 && scaled.selector == "app=web")
        #expect(try await client.scale(.deployments, namespace: "default", name: "web").specReplicas == 5)

        try await configMaps.delete(namespace: "default", name: "calendar")
        await #expect(throws: KubeError.self) { try await configMaps.get(namespace: "default", name: "calendar") }
    }

    @Test func statusErrorsBecomeTypedErrors() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        func error(_ body: () async throws(KubeError) -> Void) async -> KubeError? {
            do { try await body() } catch { return error }
            return nil
        }
        let object: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "x"]]
        let first = try await client.create(.configMaps, namespace: "default", object)

        guard
            case .notFound? = await error({ () async throws(KubeError) in
                _ = try await client.get(.configMaps, namespace: "default", name: "missing")
            })
        else {
            Issue.record("404")
            return
        }
        guard
            case .alreadyExists? = await error({ () async throws(KubeError) in
                _ = try await client.create(.configMaps, namespace: "default", object)
            })
        else {
            Issue.record("409 AlreadyExists")
            return
        }
        _ = try await client.patch(.configMaps, namespace: "default", name: "x", .merge(["data": ["v": "1"]]))
        guard
            case .conflict? = await error({ () async throws(KubeError) in
                _ = try await client.update(.configMaps, namespace: "default", first)
            })
        else {
            Issue.record("409 Conflict")
            return
        }
        let invalid = await error { () async throws(KubeError) in
            _ = try await client.create(.configMaps, namespace: "default", ["metadata": ["name": "Bad_Name"]])
        }
        guard case .invalid(_, let causes)? = invalid else {
            Issue.record("422")
            return
        }
        #expect(causes.first?.field == "metadata.name")
        guard
            case .badRequest? = await error({ () async throws(KubeError) in
                _ = try await client.list(.configMaps, namespace: "default", fieldSelector: "spec.nope=1")
            })
        else {
            Issue.record("400")
            return
        }
        guard
            case .expired? = await error({ () async throws(KubeError) in
                _ = try await client.list(.configMaps, namespace: "default", limit: 1, resourceVersion: "1")
            })
        else {
            Issue.record("410")
            return
        }

        cluster.server.injectFault(
            .init(pathPrefix: "/api/v1/namespaces/default/configmaps", status: 429, retryAfterSeconds: 3))
        let throttled = await error { () async throws(KubeError) in
            _ = try await client.get(.configMaps, namespace: "default", name: "x")
        }
        #expect(throttled?.isRetryable == true && throttled?.retryAfter == .seconds(3))
        cluster.server.injectFault(.init(pathPrefix: "/api/v1/namespaces/default/configmaps", status: 503))
        guard
            case .server(503, _, _, _)? = await error({ () async throws(KubeError) in
                _ = try await client.get(.configMaps, namespace: "default", name: "x")
            })
        else {
            Issue.record("503")
            return
        }

        var unauthorized = client.connection
        unauthorized.authentication = .bearerToken("wrong")
        let stranger = KubernetesClient(connection: unauthorized)
        defer { stranger.shutdown() }
        guard
            case .unauthorized? = await error({ () async throws(KubeError) in
                _ = try await stranger.get(.configMaps, namespace: "default", name: "x")
            })
        else {
            Issue.record("401")
            return
        }
    }

    @Test func tokenFileIsReReadOnEveryRequest() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let tokenFile = cluster.directory.file("token")
        try cluster.token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        var connection = try cluster.kubeClient().connection
        connection.authentication = .bearerTokenFile(tokenFile)
        let client = KubernetesClient(connection: connection)
        defer { client.shutdown() }
        _ = try await client.list(.namespaces, namespace: nil)
        try "rotated-away".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        await #expect(throws: KubeError.self) { _ = try await client.list(.namespaces, namespace: nil) }
        try cluster.token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        #expect(try await client.list(.namespaces, namespace: nil).items.count == 4)
    }

    @Test func watchStreamsEventsAndReportsExpiry() async throws {
        let cluster = try EmbeddedCluster(watchHistory: 50)
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        let start = try await client.list(.configMaps, namespace: "default").resourceVersion
        let stream = try await client.watch(
            .configMaps, namespace: "default", resourceVersion: start, timeoutSeconds: 120)
        _ = try await client.create(.configMaps, namespace: "default", ["metadata": ["name": "w"]])
        try await client.delete(.configMaps, namespace: "default", name: "w")
        var kinds: [WatchEvent.Kind] = []
        for try await event in stream where event.kind != .bookmark {
            kinds.append(event.kind)
            if kinds.count == 2 { break }
        }
        #expect(kinds == [.added, .deleted])

        for index in 0..<60 {
            _ = try await client.create(.configMaps, namespace: "default", ["metadata": ["name": .string("f\(index)")]])
        }
        let old = try await client.watch(.configMaps, namespace: "default", resourceVersion: start)
        await #expect {
            for try await _ in old {}
        } throws: { error in
            if case .expired? = error as? KubeError { return true }
            return false
        }
    }
}
