import Foundation
import Synchronization
import Transport

/// An HTTP reverse proxy that injects faults: it sits between a client (the controller,
/// the trainer) and its server (the API server, AWS or moto), forwards every request, and
/// on the requests its rules pick answers with 5xx or 429 and Retry-After, adds latency,
/// resets connections (at once or mid-body), truncates bodies, drops watch streams, or
/// never answers. Rules can be changed while it runs; random choices come from a seeded
/// generator, so a schedule repeats. Counters say what was injected.
public final class FaultProxy: Sendable {
    public struct Configuration: Sendable {
        /// Where requests go: `https://127.0.0.1:6443`, `http://127.0.0.1:5000`.
        public var upstream: String
        public var upstreamTLS: TLSConfiguration
        public var address: String
        public var port: Int
        /// Serve HTTPS with this certificate (clients that send tokens only over TLS).
        public var tls: ServerTLS?
        public var seed: UInt64
        /// Serve `controlPath` (the rules over HTTP: the `fault-proxy` command).
        public var control = false
        /// Called with each forwarded (non-streamed) exchange: method, target, request body,
        /// upstream status.
        public var onForward: (@Sendable (String, String, Data, Int) -> Void)?

        public init(
            upstream: String, upstreamTLS: TLSConfiguration = TLSConfiguration(), address: String = "127.0.0.1",
            port: Int = 0,
            tls: ServerTLS? = nil, seed: UInt64 = 1
        ) {
            self.upstream = upstream
            self.upstreamTLS = upstreamTLS
            self.address = address
            self.port = port
            self.tls = tls
            self.seed = seed
        }
    }

    /// What the proxy has done so far.
    public struct Counts: Sendable, Equatable {
        public var requests = 0
        public var forwarded = 0
        public var upstreamErrors = 0
        /// Faults injected, by rule name.
        public var injected: [String: Int] = [:]
        public var totalInjected: Int { injected.values.reduce(0, +) }
        public init() {}
    }

    private struct State {
        var rules: [FaultRule]
        var seen: [String: Int] = [:]
        var fired: [String: Int] = [:]
        var random: SeededGenerator
        var counts = Counts()
        var recent: [String] = []
    }

    public let configuration: Configuration
    private let state: Mutex<State>
    private let client: HTTPClient
    private let server: Mutex<HTTPServer?> = Mutex(nil)

    public init(configuration: Configuration, rules: [FaultRule] = []) {
        self.configuration = configuration
        state = Mutex(State(rules: rules, random: SeededGenerator(seed: configuration.seed)))
        client = HTTPClient(configuration: .init(tls: configuration.upstreamTLS, maxConnectionsPerHost: 256))
    }

    /// Starts listening; returns the bound port.
    public func start() throws -> Int {
        var serverConfiguration = HTTPServer.Configuration(
            address: configuration.address, port: configuration.port, maxBodyBytes: 64 << 20,
            idleTimeout: .seconds(90), maxConnections: 2048)
        serverConfiguration.tls = configuration.tls
        let http = HTTPServer(configuration: serverConfiguration) { [self] request, writer in handle(request, writer) }
        let port = try http.start()
        server.withLock { $0 = http }
        return port
    }

    public var port: Int { server.withLock { $0?.port ?? 0 } }
    public var url: String { "\(configuration.tls == nil ? "http" : "https")://\(configuration.address):\(port)" }

    public func shutdown() {
        server.withLock { $0 }?.shutdown(gracePeriod: .milliseconds(200))
        client.shutdown()
    }

    public var rules: [FaultRule] {
        get { state.withLock { $0.rules } }
        set { state.withLock { $0.rules = newValue } }
    }

    public func add(_ rule: FaultRule) { state.withLock { $0.rules.append(rule) } }
    public func removeRule(named name: String) { state.withLock { $0.rules.removeAll { $0.name == name } } }
    public func clearRules() { state.withLock { $0.rules.removeAll() } }

    public var counts: Counts { state.withLock { $0.counts } }

    /// The last requests seen (`METHOD target`), newest last, at most 1,000.
    public var recentRequests: [String] { state.withLock { $0.recent } }

    /// The fault for this request, if a rule picks it (and counts it).
    func fault(method: String, target: String) -> (rule: String, fault: Fault)? {
        state.withLock { state in
            state.counts.requests += 1
            state.recent.append("\(method) \(target)")
            if state.recent.count > 1000 { state.recent.removeFirst(state.recent.count - 1000) }
            for rule in state.rules where rule.matches(method: method, target: target) {
                let seen = state.seen[rule.name, default: 0]
                state.seen[rule.name] = seen + 1
                guard seen >= rule.skip else { continue }
                if let limit = rule.limit, state.fired[rule.name, default: 0] >= limit { continue }
                if rule.probability < 1, Double.random(in: 0..<1, using: &state.random) >= rule.probability { continue }
                state.fired[rule.name, default: 0] += 1
                state.counts.injected[rule.name, default: 0] += 1
                return (rule.name, rule.fault)
            }
            return nil
        }
    }

    // MARK: Forwarding

    private static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "content-length",
    ]

    /// Control: `GET` the rules and counts, `PUT` a JSON array of rules (replacing them),
    /// `DELETE` them all. Never faulted, never forwarded.
    public static let controlPath = "/forescale-fault-proxy/v1/rules"

    private func control(_ request: ServerRequest, _ writer: ResponseWriter) {
        switch request.method {
        case "GET":
            break
        case "PUT":
            guard let array = try? JSONSerialization.jsonObject(with: request.body) as? [[String: Any]] else {
                return writer.respond(status: 400, contentType: "text/plain", body: "a JSON array of rules\n")
            }
            do throws(FaultRule.ParseError) {
                var parsed: [FaultRule] = []
                for object in array.prefix(1000) { parsed.append(try FaultRule(json: object)) }
                rules = parsed
            } catch {
                return writer.respond(status: 400, contentType: "text/plain", body: "\(error)\n")
            }
        case "DELETE":
            clearRules()
        default:
            return writer.respond(status: 405, contentType: "text/plain", body: "GET, PUT or DELETE\n")
        }
        let counts = self.counts
        let body: [String: Any] = [
            "rules": rules.map(\.json), "requests": counts.requests, "forwarded": counts.forwarded,
            "upstreamErrors": counts.upstreamErrors, "injected": counts.injected,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        writer.respond(status: 200, headers: ["Content-Type": "application/json"], body: data)
    }

    private func handle(_ request: ServerRequest, _ writer: ResponseWriter) {
        if configuration.control, request.path == Self.controlPath { return control(request, writer) }
        let chosen = fault(method: request.method, target: request.target)
        switch chosen?.fault {
        case .status(let code, let retryAfter)?:
            var headers: HTTPHeaders = ["Content-Type": "application/json"]
            if let retryAfter { headers.set("Retry-After", String(retryAfter)) }
            let reason =
                switch code {
                case 401: "Unauthorized"
                case 403: "Forbidden"
                case 429: "TooManyRequests"
                case 503: "ServiceUnavailable"
                default: "InternalError"
                }
            let body =
                #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected fault","#
                + #""reason":"\#(reason)","code":\#(code)}"#
            writer.respond(status: code, headers: headers, body: Data(body.utf8))
            return
        case .aws(let status, let code)?:
            let body =
                "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>injected fault</Message></Error>"
                + "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            writer.respond(status: status, headers: ["Content-Type": "text/xml"], body: Data(body.utf8))
            return
        case .reset?:
            writer.abort()
            return
        case .hang?:
            while writer.isOpen { Thread.sleep(forTimeInterval: 0.05) }
            writer.abort()
            return
        case .delay(let milliseconds)?:
            Thread.sleep(forTimeInterval: Double(max(0, min(milliseconds, 600_000))) / 1000)
        default:
            break
        }
        var headers = HTTPHeaders()
        for field in request.headers where !Self.hopByHop.contains(field.name.lowercased()) {
            headers.add(field.name, field.value)
        }
        let isStream =
            request.target.contains("watch=true") || request.target.contains("watch=1")
            || request.target.contains("follow=true")
        let upstream = HTTPRequest(
            method: request.method, url: configuration.upstream + request.target, headers: headers,
            body: request.body.isEmpty && request.method == "GET" ? nil : request.body,
            timeout: isStream ? nil : .seconds(120))
        if isStream {
            stream(upstream, writer, fault: chosen?.fault)
        } else {
            forward(upstream, writer, fault: chosen?.fault)
        }
    }

    private func forward(_ request: HTTPRequest, _ writer: ResponseWriter, fault: Fault?) {
        let result = blocking { [client] () async -> Result<HTTPResponse, Error> in
            do { return .success(try await client.execute(request)) } catch { return .failure(error) }
        }
        guard case .success(let response) = result else {
            state.withLock { $0.counts.upstreamErrors += 1 }
            writer.respond(status: 502, contentType: "text/plain", body: "upstream: \(result)\n")
            return
        }
        state.withLock { $0.counts.forwarded += 1 }
        configuration.onForward?(
            request.method, String(request.url.dropFirst(configuration.upstream.count)), request.body ?? Data(),
            response.status)
        let headers = Self.responseHeaders(response.headers)
        switch fault {
        case .resetMidBody?:
            writer.beginStream(status: response.status, headers: headers)
            writer.write(response.body.prefix(response.body.count / 2))
            writer.abort()
        case .truncate?:
            // Promise the whole body, deliver half, close.
            var promised = headers
            promised.set("Content-Length", String(response.body.count))
            writer.respondPartially(
                status: response.status, headers: promised, body: response.body.prefix(response.body.count / 2))
            writer.abort()
        default:
            writer.respond(status: response.status, headers: headers, body: response.body)
        }
    }

    private func stream(_ request: HTTPRequest, _ writer: ResponseWriter, fault: Fault?) {
        let done = DispatchSemaphore(value: 0)
        let task = Task { [self] in
            defer { done.signal() }
            do {
                let response = try await client.stream(request)
                state.withLock { $0.counts.forwarded += 1 }
                guard writer.beginStream(status: response.status, headers: Self.responseHeaders(response.headers))
                else { return }
                for try await chunk in response.body {
                    guard writer.write(chunk) else { return }
                }
                writer.endStream()
            } catch {
                state.withLock { $0.counts.upstreamErrors += 1 }
                if !writer.hasResponded {
                    writer.respond(status: 502, contentType: "text/plain", body: "upstream: \(error)\n")
                } else {
                    writer.abort()
                }
            }
        }
        let deadline: DispatchTime =
            if case .dropStream(let milliseconds)? = fault { .now() + .milliseconds(max(0, milliseconds)) } else {
                .distantFuture
            }
        while done.wait(timeout: min(deadline, .now() + .milliseconds(200))) == .timedOut {
            if !writer.isOpen || DispatchTime.now() >= deadline {
                task.cancel()
                writer.abort()
                done.wait()
                return
            }
        }
    }

    private static func responseHeaders(_ headers: HTTPHeaders) -> HTTPHeaders {
        var result = HTTPHeaders()
        for field in headers where !hopByHop.contains(field.name.lowercased()) { result.add(field.name, field.value) }
        return result
    }
}

/// Runs async work to completion from a server thread (one thread per connection).
private func blocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<T?>(nil)
    Task {
        let value = await work()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}
