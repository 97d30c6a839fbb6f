import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Transport

/// The controller's HTTP endpoints. `operations`: Prometheus `/metrics`, `/healthz` (alive:
/// fails when the API server has refused the credentials for a minute) and `/readyz` (the
/// informer has synced and the API server answers) — for the cluster to reach. `dashboard`: the
/// read-only dashboard, `/` (the page), `/api/v1/policies`, `/api/v1/policies/{ns}/{name}/history`
/// and `/api/v1/stream` (server-sent events) — every namespace's policies and Events, so it
/// listens on loopback unless told otherwise (reach it with `kubectl port-forward`).
///
/// No route takes a body; the servers are small (a thread per connection, so the
/// connection cap is the thread cap) and close idle connections quickly.
public final class ControllerEndpoint: Sendable {
    public struct Routes: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let operations = Routes(rawValue: 1)
        public static let dashboard = Routes(rawValue: 2)
        public static let all: Routes = [.operations, .dashboard]
    }

    private let server: HTTPServer
    public let port: Int

    private init(server: HTTPServer, port: Int) {
        self.server = server
        self.port = port
    }

    /// The limits of these servers: bodies are refused (413) beyond a few KiB, at most 64
    /// connections (threads) in all and 16 per client address.
    static func serverConfiguration(address: String, port: Int) -> HTTPServer.Configuration {
        HTTPServer.Configuration(
            address: address, port: port, maxHeaderBytes: 16 * 1024, maxBodyBytes: 4 * 1024,
            headerTimeout: .seconds(5), bodyTimeout: .seconds(5), idleTimeout: .seconds(15),
            maxConnections: 64, maxConnectionsPerClient: 16)
    }

    public static func start(controller: Controller, address: String, port: Int, routes: Routes = .all) throws
        -> ControllerEndpoint
    {
        var router = Router()
        if routes.contains(.operations) {
            router.add("GET", "/metrics") { _, writer in
                writer.respond(
                    status: 200, contentType: "text/plain; version=0.0.4", body: controller.metrics.exposition())
            }
            router.add("GET", "/healthz") { _, writer in
                let problem = controller.livenessProblem()
                writer.respond(status: problem == nil ? 200 : 503, contentType: "text/plain", body: problem ?? "ok")
            }
            router.add("GET", "/readyz") { _, writer in
                let problem = controller.readinessProblem()
                writer.respond(status: problem == nil ? 200 : 503, contentType: "text/plain", body: problem ?? "ok")
            }
        }
        if routes.contains(.dashboard) { Dashboard(controller: controller).register(in: &router) }
        let handler = router.handler
        let loopback = isLoopback(address)
        let server = HTTPServer(
            configuration: serverConfiguration(address: address, port: port),
            handler: { request, writer in
                // DNS rebinding: a page from elsewhere whose name now resolves to 127.0.0.1 reaches a loopback
                // server with its own name in Host. A loopback server answers only requests addressed to it.
                if loopback, !isLoopback(hostName(request.headers["Host"] ?? "")) {
                    writer.respond(
                        status: 421, contentType: "text/plain",
                        body: "this server answers only requests addressed to localhost (Host header)")
                    return
                }
                handler(request, writer)
            })
        let bound = try server.start()
        return ControllerEndpoint(server: server, port: bound)
    }

    public func shutdown() { server.shutdown(gracePeriod: .milliseconds(500)) }
}

/// Whether `host` (a name or an IP literal, IPv6 with or without brackets) is this machine's loopback.
func isLoopback(_ host: String) -> Bool {
    let host = host.lowercased()
    return host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host == "[::1]"
        || (host.hasPrefix("127.") && host.split(separator: ".").count == 4
            && host.split(separator: ".").allSatisfy { UInt8($0) != nil })
}

/// The host of a Host header value ("name:port", "[v6]:port", "name").
func hostName(_ header: String) -> String {
    if header.hasPrefix("["), let close = header.firstIndex(of: "]") { return String(header[...close]) }
    return String(header.split(separator: ":", maxSplits: 1).first ?? "")
}

/// The dashboard's routes. Read-only: every handler only reads the cache, the history and
/// (for Events, and for the policy list on a standby replica) the API server.
struct Dashboard: Sendable {
    let controller: Controller
    /// How often the stream checks for new reconciles, and the keep-alive interval.
    var streamPoll = Duration.milliseconds(500)
    var streamKeepAlive = Duration.seconds(15)

    func register(in router: inout Router) {
        router.add("GET", "/") { _, writer in
            writer.respond(
                status: 200,
                headers: [
                    "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
                    "Content-Security-Policy":
                        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:",
                ],
                body: Data(DashboardPage.html.utf8))
        }
        router.add("GET", "/api/v1/policies") { _, writer in
            let (policies, reconciling) = self.policies()
            switch policies {
            case .success(let items):
                respondJSON(
                    writer, 200, DashboardAPI.list(items, generatedAt: controller.now(), isReconciling: reconciling))
            case .failure(let error): respondJSON(writer, 503, ["error": .string("listing ScalingPolicies: \(error)")])
            }
        }
        router.add("GET", "/api/v1/policies/{namespace}/{name}/history") { history($0, $1) }
        router.add("GET", "/api/v1/policies/{namespace}/{name}/charts") { charts($0, $1) }
        router.add("GET", "/api/v1/comparison") { _, writer in comparison(writer) }
        router.add("GET", "/api/v1/stream") { _, writer in
            stream(writer)
        }
    }

    /// A policy's recorded samples, actions and Events.
    private func history(_ request: ServerRequest, _ writer: ResponseWriter) {
        guard let (namespace, name, key, policy) = policy(request, writer) else { return }
        // Events are best effort: the page still charts when they cannot be listed.
        let events =
            blocking {
                try? await controller.client.list(
                    .coreEvents, namespace: namespace,
                    fieldSelector: "involvedObject.kind=ScalingPolicy,involvedObject.name=\(name)"
                ).items
            } ?? []
        respondJSON(
            writer, 200,
            DashboardAPI.history(
                policy: policy, samples: controller.history.samples(key), actions: controller.history.actions(key),
                events: events, generatedAt: controller.now()))
    }

    /// A policy's charts as SVG.
    private func charts(_ request: ServerRequest, _ writer: ResponseWriter) {
        guard let (_, _, key, policy) = policy(request, writer) else { return }
        let width = request.query("width").flatMap(Double.init).flatMap { $0.isFinite ? $0 : nil } ?? 960
        let events = blocking { await controller.calendarEvents(ScalingPolicy(json: policy)) }
        let charts = DashboardCharts.charts(
            policy: policy, samples: controller.history.samples(key), actions: controller.history.actions(key),
            events: events, slo: controller.configuration.sloUtilization, width: width)
        respondJSON(
            writer, 200,
            [
                "charts": .array(
                    charts.map { ["id": .string($0.id), "title": .string($0.title), "svg": .string($0.svg)] })
            ])
    }

    /// Every policy's record scored side by side.
    private func comparison(_ writer: ResponseWriter) {
        let policies = ((try? self.policies().0.get()) ?? []).map(ScalingPolicy.init(json:))
        let inputs = policies.map { policy in
            PolicyComparison.Input(
                key: policy.key, mode: policy.json.value(at: ["spec", "mode"])?.stringValue ?? "Predictive",
                samples: controller.history.samples(policy.key), actions: controller.history.actions(policy.key))
        }
        var events: [CalendarEvent] = []
        for policy in policies where policy.json.value(at: ["spec", "calendar"]) != nil {
            events += blocking { await controller.calendarEvents(policy) }
        }
        let comparison = PolicyComparison(
            inputs.sorted { $0.key < $1.key }, slo: controller.configuration.sloUtilization, events: events)
        respondJSON(writer, 200, ["comparison": comparison?.json ?? .null])
    }

    /// The policy a request's path names, or nil after answering 404.
    private func policy(_ request: ServerRequest, _ writer: ResponseWriter) -> (
        namespace: String, name: String, key: String, policy: JSONValue
    )? {
        let namespace = request.pathParameters["namespace"] ?? ""
        let name = request.pathParameters["name"] ?? ""
        guard let policy = policy(namespace: namespace, name: name) else {
            respondJSON(writer, 404, ["error": .string("no ScalingPolicy \(namespace)/\(name)")])
            return nil
        }
        return (namespace, name, "\(namespace)/\(name)", policy)
    }

    private func policy(namespace: String, name: String) -> JSONValue? {
        if controller.informer.hasSynced { return controller.informer.cache.get("\(namespace)/\(name)") }
        return blocking { try? await controller.client.get(.scalingPolicies, namespace: namespace, name: name) }
    }

    private func policies() -> (Result<[JSONValue], KubeError>, reconciling: Bool) {
        if controller.informer.hasSynced { return (.success(controller.informer.cache.list()), true) }
        let listed = blocking { () async -> Result<[JSONValue], KubeError> in
            do throws(KubeError) {
                return .success(
                    try await controller.client.listAll(.scalingPolicies, namespace: controller.configuration.namespace)
                        .items)
            } catch { return .failure(error) }
        }
        return (listed, false)
    }

    /// Server-sent events: `reconciled` whenever the history changed (at most every
    /// `streamPoll`), a comment as keep-alive. Ends when the client goes or the server stops.
    private func stream(_ writer: ResponseWriter) {
        guard
            writer.beginStream(
                status: 200,
                headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"])
        else { return }
        var seen = -1
        var quiet = Duration.zero
        _ = writer.write(Data("retry: 5000\n\n".utf8))
        while writer.isOpen {
            let version = controller.history.version
            if version != seen {
                seen = version
                quiet = .zero
                guard writer.write(Data("event: reconciled\ndata: {\"version\":\(version)}\n\n".utf8)) else { break }
            } else if quiet >= streamKeepAlive {
                quiet = .zero
                guard writer.write(Data(": keep-alive\n\n".utf8)) else { break }
            }
            Thread.sleep(forTimeInterval: streamPoll.seconds)
            quiet += streamPoll
        }
        writer.endStream()
    }
}

private func respondJSON(_ writer: ResponseWriter, _ status: Int, _ body: JSONValue) {
    writer.respond(
        status: status, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
        body: body.serialized())
}

/// Runs async work to completion from a server thread (handlers are synchronous, one
/// thread per connection, so blocking one waits only for this client).
private func blocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Locked<T?>(nil)
    Task {
        let value = await work()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.value!
}
