import Foundation
import Testing

@testable import Transport

@Suite("RequestHead parsing (RFC 9112)")
struct RequestHeadTests {
    private func parse(_ text: String) throws(RequestHead.ParseError) -> RequestHead {
        try RequestHead.parse(Array(text.utf8))
    }

    @Test func parsesRequestLineHeadersAndFraming() throws {
        let head = try parse(
            "PATCH /apis/forescale.io/v1alpha1/namespaces/d/scalingpolicies/web?fieldManager=kubectl HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/merge-patch+json\r\nContent-Length: 42\r\nX-Dup: a\r\nx-dup: b"
        )
        #expect(head.method == "PATCH")
        #expect(head.target == "/apis/forescale.io/v1alpha1/namespaces/d/scalingpolicies/web?fieldManager=kubectl")
        #expect(head.version == "HTTP/1.1")
        #expect(head.headers["content-type"] == "application/merge-patch+json")
        #expect(head.headers.values("X-Dup") == ["a", "b"])
        #expect(head.framing == .contentLength(42))
    }

    @Test(
        "framing",
        arguments: [
            ("Transfer-Encoding: chunked", RequestHead.Framing.chunked),
            ("Transfer-Encoding: Chunked", .chunked),
            ("Content-Length: 0", .none),
            ("Content-Length: 7, 7", .contentLength(7)),
            ("X-None: 1", .none),
        ])
    func framing(header: String, expected: RequestHead.Framing) throws {
        #expect(try parse("POST / HTTP/1.1\r\nHost: h\r\n\(header)").framing == expected)
    }

    @Test(
        "rejects",
        arguments: [
            "",
            "GET / HTTP/1.1 extra\r\nHost: h",
            "GET  / HTTP/1.1\r\nHost: h",
            "G(T / HTTP/1.1\r\nHost: h",
            "GET / HTTP/2.0\r\nHost: h",
            "GET / HTTP/1.1",
            "GET / HTTP/1.1\r\nHost: h\r\nNo-Colon",
            "GET / HTTP/1.1\r\nHost: h\r\n continued",
            "GET / HTTP/1.1\r\nHost: h\r\nBad Name: v",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked",
        ])
    func rejectsMalformed(text: String) {
        #expect(throws: RequestHead.ParseError.self) { try parse(text) }
    }

    @Test func unknownTransferCodingIsNotImplemented() {
        #expect(throws: RequestHead.ParseError.unsupportedTransferEncoding("gzip, chunked")) {
            try parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked")
        }
    }

    @Test func http10NeedsNoHostAndDefaultsToClose() throws {
        let head = try parse("GET /x HTTP/1.0")
        let request = ServerRequest(
            method: head.method, target: head.target, version: head.version, headers: head.headers)
        #expect(!request.wantsKeepAlive)
        let kept = ServerRequest(method: "GET", target: "/", version: "HTTP/1.0", headers: ["Connection": "Keep-Alive"])
        #expect(kept.wantsKeepAlive)
        let closed = ServerRequest(
            method: "GET", target: "/", version: "HTTP/1.1", headers: ["Connection": "keep-alive, close"])
        #expect(!closed.wantsKeepAlive)
    }

    /// Go's url.ParseQuery: `+` is a space (Python's urlencode sends `app+in+%28a%29`), `%2B` a plus.
    @Test func queryParametersDecodeAsGoDoes() {
        let request = ServerRequest(
            method: "GET", target: "/api/v1/pods?labelSelector=app%3Dweb%2Ctier+in+%28x%2By%29&watch=&limit=500")
        #expect(request.query("labelSelector") == "app=web,tier in (x+y)")
        #expect(request.query("watch") == "")
        #expect(request.query("limit") == "500")
        #expect(request.query("missing") == nil)
        #expect(request.path == "/api/v1/pods")
    }
}

@Suite("HTTPHeaders")
struct HTTPHeadersTests {
    @Test func caseInsensitiveLookupKeepsOrderAndDuplicates() {
        var headers: HTTPHeaders = ["Accept": "a", "X": "1"]
        headers.add("x", "2")
        #expect(headers["ACCEPT"] == "a")
        #expect(headers.values("X") == ["1", "2"])
        headers.set("X", "3")
        #expect(headers.values("x") == ["3"])
        headers.remove("accept")
        #expect(!headers.contains("Accept"))
        #expect(headers.hasToken("3", in: "x"))
    }
}

@Suite("Router")
struct RouterTests {
    @Test func matchesLiteralsParametersAndRest() throws {
        // Matching is observed through the handler's view of pathParameters.
        let seen = SeenParameters()
        var probe = Router()
        probe.add("GET", "/api/v1/namespaces/{ns}/configmaps/{name}") { request, _ in
            seen.record(request.pathParameters)
        }
        probe.add("GET", "/static/{path...}") { request, _ in seen.record(request.pathParameters) }
        probe.dispatch(
            ServerRequest(method: "GET", target: "/api/v1/namespaces/default/configmaps/calendar"), Self.nullWriter())
        probe.dispatch(ServerRequest(method: "GET", target: "/static/js/app.js?v=1"), Self.nullWriter())
        #expect(seen.all == [["ns": "default", "name": "calendar"], ["path": "js/app.js"]])
    }

    static func nullWriter() -> ResponseWriter {
        ResponseWriter(
            channel: ConnectionChannel(fd: -1, tls: nil, handshakeTimeout: .seconds(1))!, isHead: false,
            supportsChunked: true, closeAfter: { false }, isServerStopping: { false })
    }

    final class SeenParameters: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [[String: String]] = []
        func record(_ value: [String: String]) { lock.withLock { values.append(value) } }
        var all: [[String: String]] { lock.withLock { values } }
    }
}
