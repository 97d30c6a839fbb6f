import Foundation
import Transport

/// A failed AWS call, named by what failed. API errors carry AWS's code, message and
/// request id, parsed from whichever format the service answered in (Query XML, JSON,
/// S3 XML, or an HTML error page from an emulator).
public enum AWSError: Error, Sendable, CustomStringConvertible {
    case transport(TransportError)
    case api(status: Int, code: String, message: String, requestID: String?)
    case malformedResponse(String)
    case missingCredentials(String)
    case missingRegion

    /// Throttling and server-side failures are worth repeating with backoff.
    public var isRetryable: Bool {
        switch self {
        case .transport(let error): return error.isRetryable
        case .api(let status, let code, _, _):
            return status == 429 || status >= 500
                || [
                    "Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown", "RequestThrottled",
                    "TooManyRequestsException",
                ].contains(code)
        case .malformedResponse, .missingCredentials, .missingRegion: return false
        }
    }

    /// The object or resource does not exist (S3 NoSuchKey, any 404): not a failure to reach it.
    public var isNotFound: Bool {
        if case .api(let status, let code, _, _) = self { return status == 404 || code == "NoSuchKey" }
        return false
    }

    public var code: String? {
        if case .api(_, let code, _, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .transport(let error): "AWS request failed: \(error)"
        case .api(let status, let code, let message, let requestID):
            "AWS \(code) (HTTP \(status)): \(message)" + (requestID.map { " [request id \($0)]" } ?? "")
        case .malformedResponse(let detail): "unreadable AWS response: \(detail)"
        case .missingCredentials(let detail): "no AWS credentials: \(detail)"
        case .missingRegion: "no AWS region: set AWS_REGION or a region in ~/.aws/config"
        }
    }

    /// Builds the error for a non-2xx response.
    static func from(status: Int, headers: HTTPHeaders, body: Data) -> AWSError {
        let requestID = headers["x-amzn-RequestId"] ?? headers["x-amz-request-id"]
        let text = String(decoding: body, as: UTF8.self)
        if let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            let type =
                (json["__type"] as? String ?? json["code"] as? String ?? "Unknown").split(separator: "#").last.map(
                    String.init) ?? "Unknown"
            let message = json["message"] as? String ?? json["Message"] as? String ?? ""
            return .api(status: status, code: type, message: message, requestID: requestID)
        }
        if let root = try? XMLTree.parse(body) {
            func first(_ name: String) -> String? { root.first(named: name)?.stringValue }
            if let code = first("Code") {
                return .api(
                    status: status, code: code, message: first("Message") ?? "",
                    requestID: requestID ?? first("RequestId"))
            }
        }
        // An HTML or empty error page (moto answers some failures this way).
        let title = text.range(of: "<title>").flatMap { start in
            text.range(of: "</title>", range: start.upperBound..<text.endIndex).map {
                String(text[start.upperBound..<$0.lowerBound])
            }
        }
        return .api(
            status: status, code: status == 403 ? "AccessDenied" : "HTTP\(status)",
            message: title ?? String(text.prefix(200)), requestID: requestID)
    }
}
