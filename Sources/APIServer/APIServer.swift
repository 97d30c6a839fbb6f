import Foundation
import KubeCore
import Transport

/// An embedded Kubernetes-compatible API server: enough of kube-apiserver's REST semantics
/// for the real kubectl, the official Python client and our controller (see
/// docs/apiserver.md for what is and is not implemented).
public final class APIServer: Sendable {
    public struct Configuration: Sendable {
        /// Where state persists; nil keeps everything in memory.
        public var dataDirectory: String?
        public var address: String
        public var port: Int
        /// The bearer token every request except health and version checks must carry.
        public var token: String
        /// Serves `/forescale-test/v1/…` fault-injection endpoints (tests only).
        public var enableTestHooks: Bool
        /// Events kept for watches; a watch from an older resourceVersion gets 410 Expired.
        public var watchHistory: Int
        /// How often an idle watch with `allowWatchBookmarks` gets a BOOKMARK.
        public var bookmarkInterval: Duration
        /// After sending a batch, a watch waits this long before looking for the next, so a
        /// burst of writes reaches each watcher as one batch (one wake-up, one socket write)
        /// instead of a wake-up per write. Bounds the added delivery latency.
        public var watchCoalescing: Duration = .milliseconds(5)
        public var maxConnections: Int
        /// Called with every authorized resource request (an audit trail: tests check RBAC
        /// manifests against what the controller and trainer actually call).
        public var requestObserver: (@Sendable (ResourceAccess) -> Void)?
        /// Serve plain HTTP instead of HTTPS. kubectl (client-go) sends bearer tokens only
        /// over TLS, so this is for benchmarks and raw-socket tests.
        public var plainHTTP: Bool
        /// The clock objects are stamped with (creation, deletion, managed-fields times) and
        /// tables show ages by: the demo passes its virtual clock so everything it shows
        /// reads one time. Timeouts and caches keep real time.
        public var now: @Sendable () -> Date = { Date() }
        /// Events (core/v1 and events.k8s.io/v1, one store) last written longer ago than this,
        /// by `now`, are deleted — kube-apiserver's --event-ttl, so a long run does not keep
        /// every Event it was ever sent. nil keeps them.
        public var eventTTL: Duration? = .seconds(3600)

        public init(
            dataDirectory: String? = nil, address: String = "127.0.0.1", port: Int = 0, token: String,
            enableTestHooks: Bool = false, watchHistory: Int = 20_000, bookmarkInterval: Duration = .seconds(10),
            maxConnections: Int = 512, plainHTTP: Bool = false
        ) {
            self.plainHTTP = plainHTTP
            self.dataDirectory = dataDirectory
            self.address = address
            self.port = port
            self.token = token
            self.enableTestHooks = enableTestHooks
            self.watchHistory = watchHistory
            self.bookmarkInterval = bookmarkInterval
            self.maxConnections = maxConnections
        }
    }

    public enum StartError: Error, CustomStringConvertible {
        case storage(String)
        case listen(String)

        public var description: String {
            switch self {
            case .storage(let detail): return "cannot load the API server's data: \(detail)"
            case .listen(let detail): return "cannot listen: \(detail)"
            }
        }
    }

    /// Request bodies larger than this get 413 (kube-apiserver's limit is 3 MiB too).
    public static let maxBodyBytes = 3 << 20

    public let configuration: Configuration
    let store: ObjectStore
    let registry: ResourceRegistry
    let faults = FaultInjector()
    private let expiryTimer = TimerSlot()
    let pagination = PaginationCache()
    private let http: HTTPServer
    /// The self-signed certificate clients trust (PEM), nil with plainHTTP.
    public let certificatePEM: String?

    public init(configuration: Configuration) throws(StartError) {
        self.configuration = configuration
        let registry = ResourceRegistry()
        self.registry = registry
        do {
            let log = try configuration.dataDirectory.map { try StoreLog(directory: $0) }
            let crdKey = CustomResourceDefinitions.resourceType.storageKey
            store = try ObjectStore(
                historyLimit: configuration.watchHistory, log: log,
                fieldExtractor: { storageKey, object in
                    registry.fieldValues(storageKey: storageKey, object: object)
                },
                clock: configuration.now,
                recovered: { records in
                    // Serve recovered CRDs before their objects are indexed (selectable fields).
                    registry.replaceCustomResources(from: records.filter { $0.storageKey == crdKey }.map(\.object))
                })
        } catch {
            throw .storage("\(error)")
        }
        var httpConfiguration = HTTPServer.Configuration(address: configuration.address, port: configuration.port)
        if configuration.plainHTTP {
            certificatePEM = nil
        } else {
            let tls = try ServingCertificate.load(
                dataDirectory: configuration.dataDirectory, address: configuration.address)
            httpConfiguration.tls = tls
            certificatePEM = tls.certificatePEM
        }
        httpConfiguration.maxConnections = configuration.maxConnections
        httpConfiguration.maxConnectionsPerClient = max(1, configuration.maxConnections / 4)
        httpConfiguration.maxBodyBytes = APIServer.maxBodyBytes
        // A watch is one long request, not an idle connection: these bound only the wait
        // between requests — as long as client-go keeps idle connections (90 s) once a
        // request was authenticated, a few seconds for probes and refused clients.
        httpConfiguration.idleTimeout = .seconds(90)
        httpConfiguration.untrustedIdleTimeout = .seconds(5)
        let handlerBox = HandlerBox()
        http = HTTPServer(configuration: httpConfiguration) { request, writer in
            handlerBox.server?.handle(request, writer)
        }
        handlerBox.server = self
        bootstrapNamespaces()
    }

    /// Starts serving; returns the bound port.
    public func start() throws(StartError) -> Int {
        let port: Int
        do {
            port = try http.start()
        } catch {
            throw .listen("\(error)")
        }
        if let ttl = configuration.eventTTL {
            // Swept every quarter of the TTL (at most every minute), on a timer of its own.
            let seconds = ttl.seconds
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
            let interval = max(0.05, min(60, seconds / 4))
            timer.schedule(deadline: .now() + interval, repeating: interval)
            timer.setEventHandler { [weak self] in _ = self?.expireEvents() }
            timer.resume()
            expiryTimer.replace(with: timer)
        }
        return port
    }

    /// Deletes the Events older than `eventTTL`; returns how many.
    @discardableResult
    public func expireEvents() -> Int {
        guard let ttl = configuration.eventTTL else { return 0 }
        let cutoff = configuration.now().addingTimeInterval(-ttl.seconds)
        return (try? store.expire("core/events", writtenBefore: cutoff, finalState: Self.deletedState)) ?? 0
    }

    public var port: Int { http.port }
    public var baseURL: String {
        let host = configuration.address.contains(":") ? "[\(configuration.address)]" : configuration.address
        return "\(configuration.plainHTTP ? "http" : "https")://\(host):\(port)"
    }
    public var resourceVersion: Int64 { store.resourceVersion }
    public var objectCount: Int { store.objectCount }

    public func shutdown(gracePeriod: Duration = .seconds(2)) {
        expiryTimer.replace(with: nil)
        store.close()
        http.shutdown(gracePeriod: gracePeriod)
    }

    // MARK: Test hooks (also reachable over HTTP with enableTestHooks)

    public func dropWatches() { store.dropWatches() }
    public func compactHistory() { store.compactHistory() }
    public func injectFault(_ fault: InjectedFault) { faults.add(fault) }
    public func clearFaults() { faults.clear() }

    // MARK: Dispatch

    func handle(_ request: ServerRequest, _ writer: ResponseWriter) {
        switch request.path {
        case "/healthz", "/livez", "/readyz":
            writer.respond(status: 200, contentType: "text/plain; charset=utf-8", body: "ok")
            return
        case "/version":
            send(writer, 200, Discovery.version)
            return
        default:
            break
        }
        guard isAuthorized(request) else {
            writer.closeAfterResponse()
            send(writer, APIError.unauthorized)
            return
        }
        writer.markTrusted()
        // Faults never catch the test hooks themselves: a fault on "/" can still be cleared.
        if !request.path.hasPrefix("/forescale-test/"),
            let fault = faults.take(method: request.method, path: request.path)
        {
            send(writer, fault.error)
            return
        }
        do throws(APIError) {
            try route(request, writer)
        } catch {
            send(writer, error)
        }
    }

    private func isAuthorized(_ request: ServerRequest) -> Bool {
        guard let header = request.headers["Authorization"], header.hasPrefix("Bearer ") else { return false }
        return Self.constantTimeEquals(String(header.dropFirst(7)), configuration.token)
    }

    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let (a, b) = (Array(lhs.utf8), Array(rhs.utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func route(_ request: ServerRequest, _ writer: ResponseWriter) throws(APIError) {
        let path = request.path
        if path.hasPrefix("/forescale-test/") {
            guard configuration.enableTestHooks else { throw .pathNotFound(path) }
            try handleTestHook(request, writer)
            return
        }
        if path == "/api" || path == "/api/" {
            send(writer, 200, Discovery.coreVersions(address: configuration.address))
            return
        }
        if path == "/apis" || path == "/apis/" {
            send(writer, 200, Discovery.groupList(registry))
            return
        }
        if path.hasPrefix("/openapi/") {
            try OpenAPI.serve(request, writer, registry: registry, server: self)
            return
        }
        let segments = path.split(separator: "/")
        if segments.count == 2, segments[0] == "apis" {
            guard let group = Discovery.group(String(segments[1]), registry) else { throw .pathNotFound(path) }
            send(writer, 200, group)
            return
        }
        switch ResourceRequest.parse(request, registry: registry) {
        case .notFound:
            throw .pathNotFound(path)
        case .resourceList(let group, let version):
            let types = registry.types(group: group, version: version)
            guard !types.isEmpty else { throw .pathNotFound(path) }
            send(writer, 200, Discovery.resourceList(group: group, version: version, types: types))
        case .resource(let resource):
            try handleResource(resource, writer)
        }
    }

    private func handleResource(_ request: ResourceRequest, _ writer: ResponseWriter) throws(APIError) {
        configuration.requestObserver?(
            ResourceAccess(
                group: request.type.group, resource: request.type.plural + (request.subresource.map { "/" + $0 } ?? ""),
                verb: request.verb, namespace: request.namespace, name: request.name,
                userAgent: request.http.headers["User-Agent"] ?? ""
            ))
        guard request.acceptsJSON else {
            throw APIError(
                code: 406, reason: "NotAcceptable",
                message:
                    "only the following media types are accepted: application/json, "
                    + "application/json;as=Table;v=v1;g=meta.k8s.io"
            )
        }
        if let subresource = request.subresource {
            let supported =
                (subresource == "status" && (request.type.hasStatusSubresource || request.type.plural == "namespaces"))
                || (subresource == "scale" && request.type.scale != nil)
            guard supported else { throw .pathNotFound(request.http.path) }
        }
        switch request.verb {
        case "get": try handleGet(request, writer)
        case "list": try handleList(request, writer)
        case "watch": handleWatch(request, writer)
        case "create": try handleCreate(request, writer)
        case "update": try handleUpdate(request, writer)
        case "patch": try handlePatch(request, writer)
        case "delete": try handleDelete(request, writer)
        case "deletecollection": try handleDeleteCollection(request, writer)
        default: throw .methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    // MARK: Responses

    func send(_ writer: ResponseWriter, _ status: Int, _ body: JSONValue, headers: [(String, String)] = []) {
        send(writer, status, body.serialized(), headers: headers)
    }

    func send(_ writer: ResponseWriter, _ status: Int, _ body: Data, headers: [(String, String)] = []) {
        var fields = HTTPHeaders([("Content-Type", "application/json")])
        for (name, value) in headers { fields.add(name, value) }
        writer.respond(status: status, headers: fields, body: body)
    }

    func send(_ writer: ResponseWriter, _ error: APIError) {
        send(writer, error.code, error.status, headers: error.headers)
    }

    // MARK: Bootstrap

    private func bootstrapNamespaces() {
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            _ = try? store.mutate(BuiltinResources.namespaces.storageKey, namespace: "", name: name) {
                current, version throws(APIError) in
                guard current == nil else { return .unchanged }
                return .put([
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": [
                        "name": .string(name), "uid": .string(UUID().uuidString.lowercased()),
                        "resourceVersion": .string(String(version)),
                        "creationTimestamp": .string(Timestamps.format(configuration.now())),
                        "labels": ["kubernetes.io/metadata.name": .string(name)],
                    ],
                    "spec": ["finalizers": ["kubernetes"]],
                    "status": ["phase": "Active"],
                ])
            }
        }
    }

    func refreshCustomResources() {
        let crds = store.list(CustomResourceDefinitions.resourceType.storageKey, namespace: nil).objects.map {
            $0.parsed()
        }
        registry.replaceCustomResources(from: crds)
    }
}

/// Lets the HTTP handler closure reach the server that owns the HTTP server.
private final class HandlerBox: @unchecked Sendable {
    weak var server: APIServer?
}

/// One resource request, as RBAC sees it.
public struct ResourceAccess: Sendable, Hashable {
    public var group: String
    /// `plural` or `plural/subresource`.
    public var resource: String
    public var verb: String
    public var namespace: String?
    public var name: String?
    public var userAgent: String
}

/// A repeating timer owned by one object: replaced or cancelled under a lock (a Dispatch
/// source is not Sendable).
final class TimerSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var timer: DispatchSourceTimer?

    /// Cancels the current timer, if any, and keeps `next`.
    func replace(with next: DispatchSourceTimer?) {
        lock.lock()
        defer { lock.unlock() }
        timer?.cancel()
        timer = next
    }
}
