import Foundation

/// An http(s) server address from outside (a flag, a spec, a rules file), parsed so that two addresses are
/// compared by scheme, host and port — never as strings, where `http://allowed:9090@evil/` starts with
/// `http://allowed:9090`. User info, queries and fragments are refused: an address names a server and a
/// base path, nothing else.
public struct EndpointURL: Sendable, Hashable, CustomStringConvertible {
    public let scheme: String
    /// Lowercased; an IPv6 literal keeps its brackets.
    public let host: String
    /// The port in effect (80 or 443 when the URL names none).
    public let port: Int
    /// The base path without a trailing slash ("" for the root).
    public let path: String

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case invalid(String, reason: String)
        public var description: String {
            switch self {
            case .invalid(let text, let reason): "\(text.prefix(200)): \(reason)"
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { .invalid(text, reason: reason) }
        guard text.utf8.count <= 2048 else { throw fail("longer than 2048 bytes") }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7f }) else {
            throw fail("spaces, control characters and non-ASCII characters are not allowed in an address")
        }
        guard let schemeEnd = text.range(of: "://") else { throw fail("not an http(s) URL") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw fail("not an http(s) URL") }
        let rest = text[schemeEnd.upperBound...]
        guard !rest.contains("?"), !rest.contains("#") else { throw fail("an address has no query or fragment") }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.contains("@") else { throw fail("user information in an address is not allowed") }
        guard !authority.contains("\\"), !authority.contains("%") else { throw fail("not a host name") }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw fail("an unclosed IPv6 literal") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("not a host name") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty, host.utf8.count <= 253,
            host.hasPrefix("[")
                || host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
        else { throw fail("not a host name") }
        if host.hasSuffix(".") { host = host.dropLast() }
        let port: Int
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed), portText.allSatisfy(\.isNumber) else {
                throw fail("the port must be 1…65535")
            }
            port = parsed
        } else {
            port = scheme == "https" ? 443 : 80
        }
        var path = String(rest[authorityEnd...])
        while path.hasSuffix("/") { path.removeLast() }
        guard !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            throw fail("a base path has no . or .. segments")
        }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        self.path = path
    }

    /// The address as requests are built on it: `scheme://host:port/path`.
    public var description: String { "\(scheme)://\(host):\(port)\(path)" }

    /// Whether a request to `other` goes to this server (scheme, host and port), whatever its path.
    public func isSameServer(as other: EndpointURL) -> Bool {
        scheme == other.scheme && host == other.host && port == other.port
    }
}
