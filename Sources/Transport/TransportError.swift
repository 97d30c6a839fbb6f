import Foundation

/// Why an HTTP exchange failed, named by the step that failed.
public enum TransportError: Error, Sendable, CustomStringConvertible {
    case invalidRequest(String)
    case dnsFailed(String)
    case connectFailed(String)
    case tlsFailed(String)
    case timedOut(String)
    case idleTimeout(Duration)
    case cancelled
    case sendFailed(String)
    case receiveFailed(String)
    /// The server answered with a non-2xx status (only from `ensureSuccess()`).
    case httpStatus(Int, headers: HTTPHeaders, body: Data)
    case clientShutDown
    /// The answer was larger than the request allowed (`HTTPRequest.maxResponseBytes`); the transfer was aborted.
    case responseTooLarge(limit: Int)
    /// The response head (status line and header fields) was larger than `HTTPClient.maxHeadBytes`.
    case headTooLarge(limit: Int)
    case curl(code: Int, message: String)

    /// True when repeating the same request later may succeed.
    public var isRetryable: Bool {
        switch self {
        case .dnsFailed, .connectFailed, .timedOut, .idleTimeout, .sendFailed, .receiveFailed:
            return true
        case .httpStatus(let status, _, _):
            return status == 429 || status >= 500
        case .invalidRequest, .tlsFailed, .cancelled, .clientShutDown, .responseTooLarge, .headTooLarge, .curl:
            return false
        }
    }

    public var description: String {
        switch self {
        case .invalidRequest(let detail): return "invalid request: \(detail)"
        case .dnsFailed(let detail): return "DNS resolution failed: \(detail)"
        case .connectFailed(let detail): return "connect failed: \(detail)"
        case .tlsFailed(let detail): return "TLS failed: \(detail)"
        case .timedOut(let detail): return "timed out: \(detail)"
        case .idleTimeout(let limit): return "no data received for \(limit)"
        case .cancelled: return "cancelled"
        case .sendFailed(let detail): return "send failed: \(detail)"
        case .receiveFailed(let detail): return "receive failed: \(detail)"
        case .httpStatus(let status, _, let body):
            let text = String(decoding: body.prefix(512), as: UTF8.self)
            return "HTTP \(status): \(text)"
        case .clientShutDown: return "HTTP client is shut down"
        case .responseTooLarge(let limit): return "the answer is larger than the \(limit) bytes allowed for it"
        case .headTooLarge(let limit): return "the answer's header fields are larger than \(limit) bytes"
        case .curl(let code, let message): return "libcurl error \(code): \(message)"
        }
    }
}
