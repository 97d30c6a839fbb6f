import Foundation
import Synchronization

/// How a handler answers one request: either `respond` once, or `beginStream`, any number
/// of `write`s, then `endStream`. Methods may be called from any thread.
///
/// A streaming handler (a Kubernetes watch) keeps the connection open; it must poll
/// `isOpen` (false once the client has gone or the server is shutting down) and return.
public final class ResponseWriter: Sendable {
    private enum Phase {
        case pending
        case streaming
        case done
    }

    private struct State {
        var phase = Phase.pending
        var isBroken = false
        var status = 0
        var bytesWritten = 0
        var isCloseDelimited = false
        var closeRequested = false
        var isTrusted = false
    }

    private let channel: ConnectionChannel
    private let isHead: Bool
    private let useChunked: Bool
    private let closeAfter: @Sendable () -> Bool
    private let isServerStopping: @Sendable () -> Bool
    private let state = Mutex(State())

    init(
        channel: ConnectionChannel, isHead: Bool, supportsChunked: Bool, closeAfter: @escaping @Sendable () -> Bool,
        isServerStopping: @escaping @Sendable () -> Bool
    ) {
        self.channel = channel
        self.isHead = isHead
        self.useChunked = supportsChunked
        self.closeAfter = closeAfter
        self.isServerStopping = isServerStopping
    }

    /// False once the client disconnected, a write failed, or the server is shutting down.
    public var isOpen: Bool {
        if isServerStopping() { return false }
        if state.withLock({ $0.isBroken }) { return false }
        return !channel.peerHasClosed
    }

    public var hasResponded: Bool { state.withLock { $0.phase != .pending } }

    /// The status sent, or 0 before a response started.
    public var status: Int { state.withLock { $0.status } }

    var isBroken: Bool { state.withLock { $0.isBroken } }

    /// Ends the connection after this response (`Connection: close`), e.g. after refusing
    /// an unauthenticated client. Call before responding.
    public func closeAfterResponse() { state.withLock { $0.closeRequested = true } }

    /// The handler authenticated this request: the connection may then wait for the next
    /// one for the server's `idleTimeout` instead of its shorter `untrustedIdleTimeout`.
    public func markTrusted() { state.withLock { $0.isTrusted = true } }

    var isTrusted: Bool { state.withLock { $0.isTrusted } }

    /// Sends a complete response with a Content-Length. Ignored after a response has started.
    public func respond(status: Int, headers: HTTPHeaders = [:], body: Data = Data()) {
        state.withLock { state in
            guard state.phase == .pending else { return }
            state.phase = .done
            state.status = status
            var fields = headers
            fields.set("Content-Length", String(body.count))
            var bytes = Self.head(status: status, headers: fields, close: closeAfter() || state.closeRequested)
            if !isHead { bytes.append(body) }
            send(bytes, &state)
        }
    }

    /// Sends the head as given (its Content-Length may promise more than `body`) and
    /// `body`: for fault injection, a response cut short. Follow with `abort()`.
    public func respondPartially(status: Int, headers: HTTPHeaders, body: Data) {
        state.withLock { state in
            guard state.phase == .pending else { return }
            state.phase = .done
            state.status = status
            var bytes = Self.head(status: status, headers: headers, close: true)
            bytes.append(body)
            send(bytes, &state)
        }
    }

    public func respond(status: Int, contentType: String, body: String) {
        respond(status: status, headers: ["Content-Type": contentType], body: Data(body.utf8))
    }

    /// Starts a streamed response: chunked for HTTP/1.1, close-delimited for HTTP/1.0.
    @discardableResult
    public func beginStream(status: Int, headers: HTTPHeaders = [:]) -> Bool {
        state.withLock { state in
            guard state.phase == .pending else { return false }
            state.phase = .streaming
            state.status = status
            var fields = headers
            fields.remove("Content-Length")
            if useChunked { fields.set("Transfer-Encoding", "chunked") } else { state.isCloseDelimited = true }
            send(
                Self.head(status: status, headers: fields, close: closeAfter() || !useChunked || state.closeRequested),
                &state)
            return !state.isBroken
        }
    }

    /// Writes one chunk of a streamed response as soon as it is given. False if the client is gone.
    @discardableResult
    public func write(_ data: Data) -> Bool {
        guard !data.isEmpty else { return isOpen }
        return state.withLock { state in
            guard state.phase == .streaming, !state.isBroken else { return false }
            guard !isHead else { return true }
            if useChunked {
                var bytes = Data(String(data.count, radix: 16).utf8)
                bytes.append(contentsOf: [13, 10])
                bytes.append(data)
                bytes.append(contentsOf: [13, 10])
                send(bytes, &state)
            } else {
                send(data, &state)
            }
            return !state.isBroken
        }
    }

    /// Finishes a streamed response.
    public func endStream() {
        state.withLock { state in
            guard state.phase == .streaming else { return }
            state.phase = .done
            if useChunked && !isHead { send(Data("0\r\n\r\n".utf8), &state) }
        }
    }

    /// Resets the connection (RST, no close_notify) at whatever point the response is: for
    /// fault injection, a peer that vanishes mid-exchange. Later writes fail.
    public func abort() {
        state.withLock { state in
            state.isBroken = true
            state.phase = .done
            channel.reset()
        }
    }

    /// Whether the connection may serve another request after this response.
    var allowsReuse: Bool {
        state.withLock { $0.phase == .done && !$0.isBroken && !$0.isCloseDelimited && !$0.closeRequested }
    }

    private func send(_ bytes: Data, _ state: inout State) {
        guard !state.isBroken else { return }
        let ok = channel.sendAll(bytes)
        if ok { state.bytesWritten += bytes.count } else { state.isBroken = true }
    }

    private static func head(status: Int, headers: HTTPHeaders, close: Bool) -> Data {
        var text = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        for field in headers where field.name.lowercased() != "connection" {
            text += "\(field.name): \(field.value)\r\n"
        }
        text += close ? "Connection: close\r\n\r\n" : "\r\n"
        return Data(text.utf8)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}
