import Foundation
import KubeCore
import Transport

/// A failed Kubernetes API call, classified as client-go does: by the `Status` reason,
/// falling back to the HTTP code only for reasons it does not know.
public enum KubeError: Error, Sendable, CustomStringConvertible {
    public struct Cause: Sendable, Equatable {
        public var reason: String
        public var field: String
        public var message: String
    }

    case notFound(String)
    case alreadyExists(String)
    case conflict(String)
    case invalid(String, causes: [Cause])
    /// 410: the requested resourceVersion (or continue token) is too old; re-list.
    case expired(String)
    case forbidden(String)
    case unauthorized(String)
    case tooManyRequests(String, retryAfter: Duration?)
    case badRequest(String)
    case unsupportedMediaType(String)
    case server(code: Int, reason: String, message: String, retryAfter: Duration?)
    case transport(TransportError)
    case decoding(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .notFound(let message), .alreadyExists(let message), .conflict(let message), .expired(let message),
            .forbidden(let message), .unauthorized(let message), .badRequest(let message),
            .unsupportedMediaType(let message):
            return message
        case .invalid(let message, _): return message
        case .tooManyRequests(let message, _): return "too many requests: \(message)"
        case .server(let code, let reason, let message, _): return "server error \(code) \(reason): \(message)"
        case .transport(let error): return "transport: \(error)"
        case .decoding(let detail): return "cannot decode the API server's answer: \(detail)"
        case .configuration(let detail): return detail
        }
    }

    /// Worth retrying with backoff (throttling, server trouble, lost connections).
    public var isRetryable: Bool {
        switch self {
        case .tooManyRequests, .server: return true
        case .transport(let error): return error.isRetryable
        default: return false
        }
    }

    /// How long the server asked us to wait, if it did.
    public var retryAfter: Duration? {
        switch self {
        case .tooManyRequests(_, let delay), .server(_, _, _, let delay): return delay
        default: return nil
        }
    }

    /// From a non-2xx answer: the body's `Status` when there is one.
    static func from(status code: Int, headers: HTTPHeaders, body: Data) -> KubeError {
        let status = try? JSONValue(parsing: body)
        let reason = status?["reason"]?.stringValue ?? ""
        let message = status?["message"]?.stringValue ?? String(decoding: body.prefix(300), as: UTF8.self)
        let retryAfter =
            headers["Retry-After"].flatMap(Int.init).map { Duration.seconds($0) }
            ?? status?.value(at: ["details", "retryAfterSeconds"])?.intValue.map { Duration.seconds($0) }
        switch reason {
        case "NotFound": return .notFound(message)
        case "AlreadyExists": return .alreadyExists(message)
        case "Conflict": return .conflict(message)
        case "Invalid":
            let causes = (status?.value(at: ["details", "causes"])?.arrayValue ?? []).map {
                Cause(
                    reason: $0["reason"]?.stringValue ?? "", field: $0["field"]?.stringValue ?? "",
                    message: $0["message"]?.stringValue ?? "")
            }
            return .invalid(message, causes: causes)
        case "Expired", "Gone": return .expired(message)
        case "Forbidden": return .forbidden(message)
        case "Unauthorized": return .unauthorized(message)
        case "TooManyRequests": return .tooManyRequests(message, retryAfter: retryAfter)
        case "BadRequest": return .badRequest(message)
        case "UnsupportedMediaType": return .unsupportedMediaType(message)
        default: break
        }
        switch code {
        case 400: return .badRequest(message)
        case 401: return .unauthorized(message)
        case 403: return .forbidden(message)
        case 404: return .notFound(message)
        case 409: return .conflict(message)
        case 410: return .expired(message)
        case 415: return .unsupportedMediaType(message)
        case 422: return .invalid(message, causes: [])
        case 429: return .tooManyRequests(message, retryAfter: retryAfter)
        default: return .server(code: code, reason: reason, message: message, retryAfter: retryAfter)
        }
    }
}
