import Foundation

/// The request/response cycle on one accepted connection, run on its own thread.
struct HTTPConnection {
    let channel: ConnectionChannel
    let peer: String
    let configuration: HTTPServer.Configuration

    /// - Parameters:
    ///   - isStopping: whether the server is shutting down.
    ///   - setIdle: marks the connection idle (between requests) or busy; returns false
    ///     when the connection must close instead of waiting for another request.
    func run(handler: HTTPServer.Handler, isStopping: @escaping @Sendable () -> Bool, setIdle: (Bool) -> Bool) {
        var reader = ConnectionReader(channel: channel)
        var isFirst = true
        var isTrusted = false
        while true {
            guard setIdle(true) else { return }
            let idle =
                isFirst
                ? configuration.headerTimeout
                : isTrusted ? configuration.idleTimeout : configuration.untrustedIdleTimeout
            let idleDeadline = ContinuousClock.now + idle
            if !reader.hasBufferedBytes && !channel.waitReadable(until: idleDeadline) { return }
            _ = setIdle(false)
            isFirst = false

            let request: ServerRequest
            do {
                request = try readRequest(&reader)
            } catch .closed {
                return
            } catch {
                reject(error)
                return
            }

            let keepAlive = request.wantsKeepAlive
            let writer = ResponseWriter(
                channel: channel,
                isHead: request.method == "HEAD",
                supportsChunked: request.version == "HTTP/1.1",
                closeAfter: { !keepAlive || isStopping() },
                isServerStopping: isStopping
            )
            handler(request, writer)
            isTrusted = writer.isTrusted
            if !writer.hasResponded {
                writer.respond(status: 500, contentType: "text/plain", body: "handler did not respond\n")
            }
            writer.endStream()
            guard keepAlive, !isStopping(), writer.allowsReuse else { return }
        }
    }

    private enum RequestFailure: Error {
        case closed
        case status(Int, String)
    }

    private func readRequest(_ reader: inout ConnectionReader) throws(RequestFailure) -> ServerRequest {
        let headDeadline = ContinuousClock.now + configuration.headerTimeout
        let head: RequestHead
        do {
            let bytes = try reader.readHead(maxBytes: configuration.maxHeaderBytes, until: headDeadline)
            head = try RequestHead.parse(bytes)
        } catch let failure as ConnectionReader.Failure {
            switch failure {
            case .closed, .truncated: throw .closed
            case .timedOut: throw .status(408, "request head not received in time")
            case .tooLarge: throw .status(431, "request header fields too large")
            case .malformed(let detail): throw .status(400, detail)
            }
        } catch let failure as RequestHead.ParseError {
            switch failure {
            case .malformed(let detail): throw .status(400, detail)
            case .unsupportedTransferEncoding(let coding):
                throw .status(501, "transfer coding not implemented: \(coding)")
            }
        } catch {
            throw .status(400, "malformed request")
        }

        if case .contentLength(let length) = head.framing, length > configuration.maxBodyBytes {
            throw .status(413, "request body larger than \(configuration.maxBodyBytes) bytes")
        }
        if head.framing != .none, head.headers.hasToken("100-continue", in: "Expect") {
            _ = channel.sendAll(Data("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }

        let bodyDeadline = ContinuousClock.now + configuration.bodyTimeout
        var body = Data()
        do {
            switch head.framing {
            case .none:
                break
            case .contentLength(let length):
                body = Data(try reader.readExact(length, until: bodyDeadline))
            case .chunked:
                body = try reader.readChunkedBody(maxBytes: configuration.maxBodyBytes, until: bodyDeadline)
            }
        } catch {
            switch error {
            case .closed, .truncated: throw .closed
            case .timedOut: throw .status(408, "request body not received in time")
            case .tooLarge: throw .status(413, "request body larger than \(configuration.maxBodyBytes) bytes")
            case .malformed(let detail): throw .status(400, detail)
            }
        }
        return ServerRequest(
            method: head.method, target: head.target, version: head.version, headers: head.headers, body: body,
            remoteAddress: peer)
    }

    /// Answers a request that could not be read, then the caller closes the connection.
    private func reject(_ failure: RequestFailure) {
        guard case .status(let status, let detail) = failure else { return }
        let body = Data("\(detail)\n".utf8)
        var text = "HTTP/1.1 \(status) \(ResponseWriter.reasonPhrase(status))\r\n"
        text += "Content-Type: text/plain\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var bytes = Data(text.utf8)
        bytes.append(body)
        _ = channel.sendAll(bytes)
        channel.lingeringClose()
    }
}
