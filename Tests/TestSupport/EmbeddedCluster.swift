import APIServer
import Foundation
import KubeClient
import KubeCore
import Transport

/// An embedded API server on a loopback port (HTTPS, as clients expect), with a kubeconfig
/// on disk for kubectl and the Python client, and a raw JSON client for direct checks.
public final class EmbeddedCluster: Sendable {
    public let server: APIServer
    public let directory: TemporaryDirectory
    public let client: HTTPClient
    public var kubeconfigPath: String { directory.file("kubeconfig") }
    public var dataDirectory: String { directory.file("data") }
    public var baseURL: String { server.baseURL }
    public var token: String { server.configuration.token }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var json: JSONValue
        public var text: String
    }

    /// Starts a server; `directory` reuses a data directory (restart tests).
    public init(
        directory: TemporaryDirectory? = nil, bookmarkInterval: Duration = .seconds(10), watchHistory: Int = 20_000,
        testHooks: Bool = true,
        observer: (@Sendable (ResourceAccess) -> Void)? = nil
    ) throws {
        self.directory = try directory ?? TemporaryDirectory("forescale-apiserver")
        let token = APIServer.generateToken()
        var serverConfiguration = APIServer.Configuration(
            dataDirectory: self.directory.file("data"), token: token, enableTestHooks: testHooks,
            watchHistory: watchHistory, bookmarkInterval: bookmarkInterval
        )
        serverConfiguration.requestObserver = observer
        server = try APIServer(configuration: serverConfiguration)
        _ = try server.start()
        try Data(server.kubeconfig().utf8).write(to: URL(fileURLWithPath: self.directory.file("kubeconfig")))
        var configuration = HTTPClient.Configuration()
        configuration.tls.certificateAuthority = server.certificatePEM.map { .pem(Data($0.utf8)) }
        client = HTTPClient(configuration: configuration)
    }

    public func stop() {
        client.shutdown()
        server.shutdown(gracePeriod: .milliseconds(200))
    }

    public func request(
        _ method: String, _ path: String, body: JSONValue? = nil, contentType: String = "application/json",
        headers: [(String, String)] = []
    ) async throws -> Response {
        var fields = HTTPHeaders([("Authorization", "Bearer \(token)"), ("Accept", "application/json")])
        if body != nil { fields.add("Content-Type", contentType) }
        for (name, value) in headers { fields.set(name, value) }
        let response = try await client.execute(
            HTTPRequest(method: method, url: baseURL + path, headers: fields, body: body?.serialized()))
        let text = String(decoding: response.body, as: UTF8.self)
        return Response(
            status: response.status, headers: response.headers, json: (try? JSONValue(parsing: response.body)) ?? .null,
            text: text)
    }

    /// A request with a body of raw bytes (protobuf, YAML, hostile input).
    public func request(
        _ method: String, _ path: String, rawBody: Data, contentType: String, headers: [(String, String)] = []
    ) async throws -> Response {
        var fields = HTTPHeaders([
            ("Authorization", "Bearer \(token)"), ("Accept", "application/json"), ("Content-Type", contentType),
        ])
        for (name, value) in headers { fields.set(name, value) }
        let response = try await client.execute(
            HTTPRequest(method: method, url: baseURL + path, headers: fields, body: rawBody))
        return Response(
            status: response.status, headers: response.headers, json: (try? JSONValue(parsing: response.body)) ?? .null,
            text: String(decoding: response.body, as: UTF8.self))
    }

    /// Opens a watch and returns its events as they arrive (one JSON object per line).
    public func watch(_ path: String) async throws -> AsyncThrowingStream<JSONValue, Error> {
        let headers = HTTPHeaders([("Authorization", "Bearer \(token)"), ("Accept", "application/json")])
        // A watch lasts as long as the test needs it: no total timeout.
        let response = try await client.stream(
            HTTPRequest(method: "GET", url: baseURL + path, headers: headers, timeout: nil))
        return AsyncThrowingStream { continuation in
            let task = Task {
                var buffer = Data()
                do {
                    for try await chunk in response.body {
                        buffer.append(chunk)
                        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = buffer[buffer.startIndex..<newline]
                            buffer = Data(buffer[buffer.index(after: newline)...])
                            if let event = try? JSONValue(parsing: Data(line)) { continuation.yield(event) }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Our own client, connected as a user of the emitted kubeconfig would be.
    public func kubeClient(fieldManager: String = "forescale-test") throws -> KubernetesClient {
        let connection = try KubeConfigLoader(environment: ["KUBECONFIG": kubeconfigPath]).load()
        return KubernetesClient(connection: connection, fieldManager: fieldManager)
    }

    /// Creates the repository's ScalingPolicy CRD (crds/scalingpolicy.yaml) through `client`.
    public func installScalingPolicyCRD(_ client: KubernetesClient) async throws {
        let crd = try YAML.parse(
            String(
                decoding: try Data(contentsOf: Fixtures.root.appendingPathComponent("crds/scalingpolicy.yaml")),
                as: UTF8.self))
        _ = try await client.create(.customResourceDefinitions, namespace: nil, crd)
    }

    /// A new cluster with the ScalingPolicy CRD installed, and a client of it (stop the one, shut the other down).
    public static func withScalingPolicies(fieldManager: String = "forescale-test") async throws -> (
        EmbeddedCluster, KubernetesClient
    ) {
        let cluster = try EmbeddedCluster()
        let client = try cluster.kubeClient(fieldManager: fieldManager)
        try await cluster.installScalingPolicyCRD(client)
        return (cluster, client)
    }

    /// Creates the fixture Deployment (Tests/Fixtures/kube/deployment.yaml) in `default`, at `replicas` and named
    /// `name` when given; returns its name.
    @discardableResult
    public func createFixtureDeployment(_ client: KubernetesClient, replicas: Int? = nil, name: String? = nil)
        async throws -> String
    {
        var deployment = try YAML.parse(
            String(
                decoding: try Data(
                    contentsOf: Fixtures.root.appendingPathComponent("Tests/Fixtures/kube/deployment.yaml")),
                as: UTF8.self))
        if let replicas { deployment.setValue(.integer(Int64(replicas)), at: ["spec", "replicas"]) }
        if let name {
            deployment.setValue(.string(name), at: ["metadata", "name"])
            deployment.setValue(["app": .string(name)], at: ["spec", "selector", "matchLabels"])
            deployment.setValue(["app": .string(name)], at: ["spec", "template", "metadata", "labels"])
        }
        _ = try await client.create(.deployments, namespace: "default", deployment)
        return deployment.value(at: ["metadata", "name"])?.stringValue ?? "web"
    }

    /// Starts kubectl against this server in the background (a `-w` to read while it runs).
    public func kubectlInBackground(_ arguments: [String]) throws -> BackgroundProcess {
        try BackgroundProcess("kubectl", kubectlArguments(arguments))
    }

    private func kubectlArguments(_ arguments: [String]) -> [String] {
        arguments + ["--kubeconfig", kubeconfigPath, "--cache-dir", directory.file("kube-cache")]
    }

    /// Runs kubectl against this server (nil when kubectl is not installed).
    public func kubectl(_ arguments: [String], input: String? = nil) async throws -> CommandResult {
        try await Subprocess.run(
            "kubectl", kubectlArguments(arguments), input: input.map { Data($0.utf8) })
    }
}
