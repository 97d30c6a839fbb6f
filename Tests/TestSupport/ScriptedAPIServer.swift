import Foundation
import KubeClient
import KubeCore
import Synchronization
import Transport

/// An API server that knows exactly which requests to expect, in order (kube-rs's
/// `ApiServerVerifier`): each expected request is checked (method, path, body) and answered
/// as scripted; an unexpected or out-of-order request is a failure, answered 500. Tests
/// assert `failures` is empty and every step of the script was used.
public final class ScriptedAPIServer: Sendable {
    public struct Exchange: Sendable {
        public var method: String
        /// The path without the query.
        public var path: String
        /// nil when the body is acceptable, else what is wrong with it.
        public var check: @Sendable (JSONValue?) -> String?
        public var status: Int
        /// The answer; by default the request's body echoed (what a write returns).
        public var response: (@Sendable (JSONValue?) -> JSONValue)?

        public init(
            _ method: String, _ path: String, status: Int = 200,
            check: @escaping @Sendable (JSONValue?) -> String? = { _ in nil },
            response: (@Sendable (JSONValue?) -> JSONValue)? = nil
        ) {
            self.method = method
            self.path = path
            self.check = check
            self.status = status
            self.response = response
        }
    }

    private struct State {
        var script: [Exchange] = []
        var used = 0
        var failures: [String] = []
        var seen: [String] = []
    }

    private let state = Locked(State())
    private let server: HTTPServer
    public let port: Int

    public init() throws {
        let state = self.state
        server = HTTPServer(configuration: .init()) { request, writer in
            let body = request.body.isEmpty ? nil : try? JSONValue(parsing: request.body)
            let next = state.withLock { state -> Exchange? in
                state.seen.append("\(request.method) \(request.path)")
                guard state.used < state.script.count else {
                    state.failures.append("unexpected request \(request.method) \(request.path) after the script ended")
                    return nil
                }
                let exchange = state.script[state.used]
                state.used += 1
                guard exchange.method == request.method, exchange.path == request.path else {
                    state.failures.append(
                        "request \(state.used): expected \(exchange.method) \(exchange.path), got \(request.method) \(request.path)"
                    )
                    return nil
                }
                if let problem = exchange.check(body) {
                    state.failures.append("request \(state.used) (\(request.method) \(request.path)): \(problem)")
                }
                return exchange
            }
            guard let next else {
                writer.respond(
                    status: 500, contentType: "application/json",
                    body: #"{"kind":"Status","status":"Failure","code":500}"#)
                return
            }
            let answer = next.response?(body) ?? body ?? [:]
            writer.respond(
                status: next.status, headers: ["Content-Type": "application/json"], body: answer.serialized())
        }
        port = try server.start()
    }

    /// Replaces the script (the next request is matched against its first exchange).
    public func expect(_ script: [Exchange]) {
        state.withLock { state in
            state.script = script
            state.used = 0
        }
    }

    public var failures: [String] { state.withLock { $0.failures } }
    /// Exchanges of the current script not yet requested.
    public var unused: [String] { state.withLock { $0.script.dropFirst($0.used).map { "\($0.method) \($0.path)" } } }
    public var seen: [String] { state.withLock { $0.seen } }

    public func client(fieldManager: String = "forescale-controller") -> KubernetesClient {
        KubernetesClient(connection: ClusterConnection(server: "http://127.0.0.1:\(port)"), fieldManager: fieldManager)
    }

    public func stop() { server.shutdown(gracePeriod: .milliseconds(100)) }

    /// The API server's 404 Status, as a response body.
    public static func notFound(_ message: String) -> JSONValue {
        [
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
            "message": .string(message),
        ]
    }
}
