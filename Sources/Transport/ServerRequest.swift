import Foundation

/// A request received by `HTTPServer`, with its body fully read.
public struct ServerRequest: Sendable {
    public var method: String
    /// The request target as sent (path and query, percent-encoded).
    public var target: String
    public var version: String
    public var headers: HTTPHeaders
    public var body: Data
    /// "host:port" of the client.
    public var remoteAddress: String
    /// Values captured by `Router` patterns such as `/api/v1/{name}`.
    public var pathParameters: [String: String] = [:]

    public init(
        method: String, target: String, version: String = "HTTP/1.1", headers: HTTPHeaders = [:], body: Data = Data(),
        remoteAddress: String = ""
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The percent-encoded path, without the query.
    public var rawPath: String {
        String(target.prefix { $0 != "?" })
    }

    /// The percent-decoded path.
    public var path: String {
        let raw = rawPath
        return raw.utf8.contains(UInt8(ascii: "%")) ? (raw.removingPercentEncoding ?? raw) : raw
    }

    /// Query parameters in order, decoded as Go's `url.ParseQuery` (which the API server
    /// uses) does: `+` is a space, `%XX` an escaped byte.
    public var queryItems: [(name: String, value: String)] {
        guard let mark = target.firstIndex(of: "?") else { return [] }
        func decode(_ text: Substring) -> String {
            let utf8 = text.utf8
            guard utf8.contains(UInt8(ascii: "+")) || utf8.contains(UInt8(ascii: "%")) else { return String(text) }
            let spaced = text.replacingOccurrences(of: "+", with: " ")
            return spaced.removingPercentEncoding ?? spaced
        }
        return target[target.index(after: mark)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The first value of query parameter `name`.
    public func query(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// Whether the connection asks to stay open after this exchange (RFC 9112 §9.3).
    public var wantsKeepAlive: Bool {
        if headers.hasToken("close", in: "Connection") { return false }
        if version == "HTTP/1.0" { return headers.hasToken("keep-alive", in: "Connection") }
        return true
    }
}
