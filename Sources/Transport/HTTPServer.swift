import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A small HTTP/1.1 server on POSIX sockets: one thread per connection (blocking reads on
/// the shared Dispatch pool would starve it), keep-alive, Content-Length and chunked
/// request bodies, streamed responses, limits, and graceful shutdown.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (ServerRequest, ResponseWriter) -> Void

    public struct Configuration: Sendable {
        public var address: String
        /// 0 picks an ephemeral port; read the bound one from `port`.
        public var port: Int
        public var backlog: Int32
        public var maxHeaderBytes: Int
        public var maxBodyBytes: Int
        /// The whole request head must arrive within this (slow-loris defence).
        public var headerTimeout: Duration
        /// The whole body must arrive within this.
        public var bodyTimeout: Duration
        /// A kept-alive connection with no new request for this long is closed, when its
        /// last request was authenticated (the handler called `markTrusted`).
        public var idleTimeout: Duration
        /// The same for a connection whose last request was not authenticated (anonymous
        /// probes, refused clients): short, so idle strangers cannot hold connections.
        public var untrustedIdleTimeout: Duration
        /// Connections one client address may hold open at once (the rest get 503).
        public var maxConnectionsPerClient: Int
        /// A send that cannot make progress for this long fails (client not reading).
        public var sendTimeout: Duration
        public var maxConnections: Int
        /// Serve HTTPS with this certificate and key.
        public var tls: ServerTLS?

        public init(
            address: String = "127.0.0.1",
            port: Int = 0,
            backlog: Int32 = 512,
            maxHeaderBytes: Int = 32 * 1024,
            maxBodyBytes: Int = 16 * 1024 * 1024,
            headerTimeout: Duration = .seconds(10),
            bodyTimeout: Duration = .seconds(60),
            idleTimeout: Duration = .seconds(90),
            untrustedIdleTimeout: Duration? = nil,
            sendTimeout: Duration = .seconds(30),
            maxConnections: Int = 4096,
            maxConnectionsPerClient: Int? = nil
        ) {
            self.untrustedIdleTimeout = untrustedIdleTimeout ?? idleTimeout
            self.maxConnectionsPerClient = maxConnectionsPerClient ?? maxConnections
            self.address = address
            self.port = port
            self.backlog = backlog
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.idleTimeout = idleTimeout
            self.sendTimeout = sendTimeout
            self.maxConnections = maxConnections
        }
    }

    public enum ServerError: Error, CustomStringConvertible {
        case bindFailed(String)
        case alreadyStarted

        public var description: String {
            switch self {
            case .bindFailed(let detail): "cannot listen: \(detail)"
            case .alreadyStarted: "server already started"
            }
        }
    }

    private struct State {
        var listenFD: Int32 = -1
        var port = 0
        var isStopping = false
        var nextConnectionID = 0
        /// Open connections: fd and whether it is between requests (safe to close at once).
        var connections: [Int: (fd: Int32, isIdle: Bool, client: String)] = [:]
        /// Open connections per client address.
        var perClient: [String: Int] = [:]
        var acceptThreadRunning = false
    }

    public let configuration: Configuration
    private let handler: Handler
    private let state = Mutex(State())
    private let allClosed = DispatchGroup()

    public init(configuration: Configuration = Configuration(), handler: @escaping Handler) {
        self.configuration = configuration
        self.handler = handler
    }

    /// The bound port (valid after `start`).
    public var port: Int { state.withLock { $0.port } }

    /// Read lock-free: streaming handlers poll it on every wake-up.
    public var isStopping: Bool { stopping.load(ordering: .acquiring) }
    private let stopping = Atomic<Bool>(false)

    /// Binds, listens and starts accepting on a background thread; returns the bound port.
    @discardableResult
    public func start() throws(ServerError) -> Int {
        let listening: (fd: Int32, port: Int)
        do {
            listening = try Socket.listen(
                address: configuration.address, port: configuration.port, backlog: configuration.backlog)
        } catch {
            throw .bindFailed(error.description)
        }
        let started = state.withLock { state -> Bool in
            guard state.listenFD < 0 && !state.isStopping else { return false }
            state.listenFD = listening.fd
            state.port = listening.port
            state.acceptThreadRunning = true
            return true
        }
        guard started else {
            close(listening.fd)
            throw .alreadyStarted
        }
        allClosed.enter()
        let thread = Thread { [self] in acceptLoop(listening.fd) }
        thread.name = "forescale.http.accept"
        thread.start()
        return listening.port
    }

    /// Stops accepting, closes idle connections at once, lets requests in progress finish
    /// (streaming handlers see `isOpen == false`), and after `gracePeriod` forcibly closes
    /// whatever is left. Returns when every connection thread has ended.
    public func shutdown(gracePeriod: Duration = .seconds(5)) {
        let listenFD = state.withLock { state -> Int32 in
            guard !state.isStopping else { return -1 }
            state.isStopping = true
            stopping.store(true, ordering: .releasing)
            for connection in state.connections.values where connection.isIdle {
                Glibc.shutdown(connection.fd, Int32(SHUT_RDWR))
            }
            return state.listenFD
        }
        if listenFD >= 0 { Glibc.shutdown(listenFD, Int32(SHUT_RDWR)) }
        let deadline = DispatchTime.now() + .milliseconds(gracePeriod.milliseconds)
        if allClosed.wait(timeout: deadline) == .timedOut {
            state.withLock { state in
                for connection in state.connections.values { Glibc.shutdown(connection.fd, Int32(SHUT_RDWR)) }
            }
            allClosed.wait()
        }
    }

    /// `shutdown` on a dedicated thread, so an async caller does not block the cooperative pool.
    public func shutdown(gracePeriod: Duration = .seconds(5)) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread { [self] in
                shutdown(gracePeriod: gracePeriod)
                continuation.resume()
            }.start()
        }
    }

    /// Connections open right now.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    private func acceptLoop(_ listenFD: Int32) {
        defer {
            close(listenFD)
            allClosed.leave()
        }
        while let (fd, peer) = Socket.accept(listenFD) {
            let client = Self.clientAddress(peer)
            let id = state.withLock { state -> Int? in
                guard !state.isStopping, state.perClient[client, default: 0] < configuration.maxConnectionsPerClient
                else { return nil }
                // Full: an idle connection of the client holding the most makes room, so kept-alive (or silent)
                // connections from a few addresses cannot lock out a newcomer — kubelet's probe among them.
                if state.connections.count >= configuration.maxConnections,
                    !Self.evictIdleConnection(&state, forNewcomer: client)
                {
                    return nil
                }
                state.nextConnectionID += 1
                state.connections[state.nextConnectionID] = (fd, true, client)
                state.perClient[client, default: 0] += 1
                return state.nextConnectionID
            }
            guard let id else {
                let busy = Data(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                _ = busy.withUnsafeBytes { Socket.sendAll(fd, $0) }
                close(fd)
                if isStopping { return }
                continue
            }
            allClosed.enter()
            let thread = Thread { [self] in
                serve(fd: fd, peer: peer, id: id)
            }
            thread.name = "forescale.http.conn"
            thread.start()
        }
    }

    /// Closes (shuts down; its thread closes the descriptor) an idle connection of the client with the most
    /// connections, if that client holds more than the newcomer would; false when none can go.
    private static func evictIdleConnection(_ state: inout State, forNewcomer client: String) -> Bool {
        let newcomerCount = state.perClient[client, default: 0] + 1
        guard let heaviest = state.perClient.max(by: { $0.value < $1.value }), heaviest.value > newcomerCount,
            let victim = state.connections.first(where: { $0.value.client == heaviest.key && $0.value.isIdle })
        else { return false }
        state.connections[victim.key] = nil
        state.perClient[heaviest.key, default: 1] -= 1
        if state.perClient[heaviest.key] == 0 { state.perClient[heaviest.key] = nil }
        Glibc.shutdown(victim.value.fd, Int32(SHUT_RDWR))
        return true
    }

    /// "host" of "host:port" / "[v6]:port": the unit of the per-client connection cap.
    static func clientAddress(_ peer: String) -> String {
        if peer.hasPrefix("["), let close = peer.firstIndex(of: "]") {
            return String(peer[peer.index(after: peer.startIndex)..<close])
        }
        guard let colon = peer.lastIndex(of: ":") else { return peer }
        return String(peer[..<colon])
    }

    private func serve(fd: Int32, peer: String, id: Int) {
        defer {
            state.withLock { state in
                guard let client = state.connections.removeValue(forKey: id)?.client else { return }
                state.perClient[client, default: 1] -= 1
                if state.perClient[client] == 0 { state.perClient[client] = nil }
            }
            close(fd)
            allClosed.leave()
        }
        Socket.setNoDelay(fd)
        Socket.setSendTimeout(fd, configuration.sendTimeout)
        // The TLS handshake runs here, on the connection's thread, not in the accept loop.
        guard
            let channel = ConnectionChannel(
                fd: fd, tls: configuration.tls, handshakeTimeout: configuration.headerTimeout)
        else { return }
        defer { channel.release() }
        let connection = HTTPConnection(channel: channel, peer: peer, configuration: configuration)
        connection.run(
            handler: handler,
            isStopping: { [self] in isStopping },
            setIdle: { [self] idle in
                state.withLock { state -> Bool in
                    state.connections[id]?.isIdle = idle
                    return !(idle && state.isStopping)
                }
            }
        )
    }
}
