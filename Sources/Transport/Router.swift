import Foundation

/// Routes requests by method and path pattern. Patterns are literal segments,
/// `{name}` (one segment, captured into `pathParameters`) and a final `{name...}`
/// (the rest of the path). No match → 404; a path match with another method → 405.
public struct Router: Sendable {
    private struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let handler: HTTPServer.Handler
    }

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)
    }

    private var routes: [Route] = []
    private var fallback: HTTPServer.Handler?

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping HTTPServer.Handler) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("...}") { return .rest(String(part.dropFirst().dropLast(4))) }
            if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .literal(String(part))
        }
        routes.append(Route(method: method.uppercased(), segments: segments, handler: handler))
    }

    /// Handles requests that match no route (instead of 404).
    public mutating func setFallback(_ handler: @escaping HTTPServer.Handler) {
        fallback = handler
    }

    /// The router as a server handler.
    public var handler: HTTPServer.Handler {
        { request, writer in dispatch(request, writer) }
    }

    public func dispatch(_ request: ServerRequest, _ writer: ResponseWriter) {
        let parts = request.path.split(separator: "/").map(String.init)
        var allowed: [String] = []
        for route in routes {
            guard let parameters = match(route.segments, parts) else { continue }
            let method = request.method == "HEAD" && route.method == "GET" ? "GET" : request.method
            if route.method == method {
                var routed = request
                routed.pathParameters = parameters
                route.handler(routed, writer)
                return
            }
            allowed.append(route.method)
        }
        if let fallback {
            fallback(request, writer)
        } else if allowed.isEmpty {
            writer.respond(status: 404, contentType: "text/plain", body: "not found\n")
        } else {
            writer.respond(
                status: 405, headers: ["Allow": allowed.joined(separator: ", "), "Content-Type": "text/plain"],
                body: Data("method not allowed\n".utf8))
        }
    }

    private func match(_ segments: [Segment], _ parts: [String]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .rest(let name):
                parameters[name] = parts.dropFirst(index).joined(separator: "/")
                return parameters
            case .literal(let text):
                guard index < parts.count, parts[index] == text else { return nil }
            case .parameter(let name):
                guard index < parts.count else { return nil }
                parameters[name] = parts[index]
            }
        }
        return parts.count == segments.count ? parameters : nil
    }
}
