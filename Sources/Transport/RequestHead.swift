import Foundation

/// The parsed request line and header fields of an HTTP/1.1 request (RFC 9112 §2–§6).
/// Pure: parsing never reads from a socket.
struct RequestHead: Equatable {
    enum Framing: Equatable {
        case none
        case contentLength(Int)
        case chunked
    }

    enum ParseError: Error, Equatable {
        case malformed(String)
        case unsupportedTransferEncoding(String)
    }

    var method: String
    var target: String
    var version: String
    var headers: HTTPHeaders
    var framing: Framing

    private static let tokenCharacters = Set(
        "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    /// Parses the bytes before the blank line that ends the head (without that CRLFCRLF).
    static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> RequestHead {
        let text = String(decoding: bytes, as: UTF8.self)
        // CRLF is one Character in Swift, so this splits on CRLF only (no Foundation).
        var lines = text.split(separator: "\r\n" as Character, omittingEmptySubsequences: false)
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
        while lines.first == "" { lines.removeFirst() }
        guard let requestLine = lines.first else { throw .malformed("empty request") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("bad request line") }
        let method = String(parts[0])
        let target = String(parts[1])
        let version = String(parts[2])
        guard !method.isEmpty, method.utf8.allSatisfy(tokenCharacters.contains) else { throw .malformed("bad method") }
        guard !target.isEmpty, target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .malformed("bad request target")
        }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw .malformed("unsupported version \(version)") }

        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let first = line.utf8.first else { throw .malformed("empty header line") }
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                throw .malformed("obsolete line folding")
            }
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("header without colon") }
            let name = String(line[..<colon])
            guard !name.isEmpty, name.utf8.allSatisfy(tokenCharacters.contains) else {
                throw .malformed("bad header name")
            }
            let value = line[line.index(after: colon)...].trimmingHTTPWhitespace
            guard !value.utf8.contains(where: { $0 == 0 || $0 == 0x0D || $0 == 0x0A }) else {
                throw .malformed("bad header value")
            }
            headers.add(name, value)
        }
        if version == "HTTP/1.1" && !headers.contains("Host") { throw .malformed("missing Host header") }
        return RequestHead(
            method: method, target: target, version: version, headers: headers, framing: try framing(of: headers))
    }

    /// RFC 9112 §6.3: Transfer-Encoding wins over Content-Length; a request carrying
    /// both is rejected here, since it is the classic request-smuggling shape.
    private static func framing(of headers: HTTPHeaders) throws(ParseError) -> Framing {
        let encodings = headers.values("Transfer-Encoding")
        let lengths = headers.values("Content-Length")
        if !encodings.isEmpty {
            guard lengths.isEmpty else { throw .malformed("both Transfer-Encoding and Content-Length") }
            let codings = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingHTTPWhitespace.lowercased() }
            guard codings == ["chunked"] else { throw .unsupportedTransferEncoding(codings.joined(separator: ", ")) }
            return .chunked
        }
        let distinct = Set(lengths.flatMap { $0.split(separator: ",") }.map { $0.trimmingHTTPWhitespace })
        guard distinct.count <= 1 else { throw .malformed("conflicting Content-Length") }
        guard let length = distinct.first else { return .none }
        guard !length.isEmpty, length.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), length.count <= 18,
            let value = Int(length)
        else {
            throw .malformed("bad Content-Length")
        }
        return value == 0 ? .none : .contentLength(value)
    }
}
