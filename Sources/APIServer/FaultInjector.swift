import Foundation
import KubeCore
import Synchronization
import Transport

/// A failure the server returns instead of serving matching requests, for testing clients:
/// 5xx, 429 with Retry-After, … (`count` requests, then it is spent).
public struct InjectedFault: Sendable {
    public var method: String?
    public var pathPrefix: String
    public var status: Int
    public var retryAfterSeconds: Int?
    public var count: Int

    public init(method: String? = nil, pathPrefix: String, status: Int, retryAfterSeconds: Int? = nil, count: Int = 1) {
        self.method = method
        self.pathPrefix = pathPrefix
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.count = count
    }

    var error: APIError {
        let reason: String
        switch status {
        case 404:
            return APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        case 429: reason = "TooManyRequests"
        case 503: reason = "ServiceUnavailable"
        case 504: reason = "Timeout"
        case 500...599: reason = "InternalError"
        default: reason = "BadRequest"
        }
        var error = APIError(code: status, reason: reason, message: "injected fault: \(reason)")
        if let retryAfterSeconds {
            error.headers.append(("Retry-After", String(retryAfterSeconds)))
            error.details = ["retryAfterSeconds": .integer(Int64(retryAfterSeconds))]
        }
        return error
    }
}

final class FaultInjector: Sendable {
    private let faults = Mutex<[InjectedFault]>([])

    func add(_ fault: InjectedFault) { faults.withLock { $0.append(fault) } }
    func clear() { faults.withLock { $0.removeAll() } }

    func take(method: String, path: String) -> InjectedFault? {
        faults.withLock { faults in
            guard
                let index = faults.firstIndex(where: {
                    ($0.method == nil || $0.method == method) && path.hasPrefix($0.pathPrefix)
                })
            else { return nil }
            let fault = faults[index]
            faults[index].count -= 1
            if faults[index].count <= 0 { faults.remove(at: index) }
            return fault
        }
    }
}

extension APIServer {
    /// `/forescale-test/v1/faults` (POST a fault, DELETE all), `/forescale-test/v1/drop-watches`,
    /// `/forescale-test/v1/compact` (forces 410 Expired for older watches).
    func handleTestHook(_ request: ServerRequest, _ writer: ResponseWriter) throws(APIError) {
        switch (request.method, request.path) {
        case ("POST", "/forescale-test/v1/faults"):
            guard let body = try? JSONValue(parsing: request.body), let prefix = body["pathPrefix"]?.stringValue,
                let status = body["status"]?.intValue
            else {
                throw .badRequest("a fault needs pathPrefix and status")
            }
            faults.add(
                InjectedFault(
                    method: body["method"]?.stringValue, pathPrefix: prefix, status: status,
                    retryAfterSeconds: body["retryAfterSeconds"]?.intValue, count: body["count"]?.intValue ?? 1
                ))
        case ("DELETE", "/forescale-test/v1/faults"):
            faults.clear()
        case ("POST", "/forescale-test/v1/drop-watches"):
            store.dropWatches()
        case ("POST", "/forescale-test/v1/compact"):
            store.compactHistory()
        default:
            throw .pathNotFound(request.path)
        }
        send(writer, 200, ["kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": [:]])
    }
}
