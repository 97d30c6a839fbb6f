import Foundation
import KubeCore
import Transport

/// A page of a list: the items, the resourceVersion it was taken at, and the token for the next page.
public struct ObjectList: Sendable {
    public var items: [JSONValue]
    public var resourceVersion: String
    public var continueToken: String?

    public init(items: [JSONValue], resourceVersion: String, continueToken: String?) {
        self.items = items
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
    }
}

/// The patch types the API server accepts
/// (https://kubernetes.io/docs/reference/using-api/api-concepts/#patch-and-apply).
public enum PatchBody: Sendable {
    case merge(JSONValue)
    case json(JSONValue)
    case strategic(JSONValue)
    /// Server-side apply (the fieldManager is required; `force` takes over conflicting fields).
    case apply(JSONValue, force: Bool)

    var contentType: String {
        switch self {
        case .merge: return "application/merge-patch+json"
        case .json: return "application/json-patch+json"
        case .strategic: return "application/strategic-merge-patch+json"
        case .apply: return "application/apply-patch+yaml"
        }
    }

    var body: JSONValue {
        switch self {
        case .merge(let body), .json(let body), .strategic(let body), .apply(let body, _): return body
        }
    }
}

/// Unstructured REST access to one API server: every verb, subresources, list pages and
/// watches, over one `HTTPClient` (keep-alive, one thread for all transfers). Errors are
/// `KubeError`s classified from the server's `Status`.
public final class KubernetesClient: Sendable {
    public let connection: ClusterConnection
    public let fieldManager: String
    /// What the server has been answering (probes and failure logs read it).
    public let health = APIHealth()
    private let http: HTTPClient
    private let exec: ExecCredentialProvider?

    public init(connection: ClusterConnection, fieldManager: String = "forescale", userAgent: String = "forescale/0.1")
    {
        self.connection = connection
        self.fieldManager = fieldManager
        var configuration = HTTPClient.Configuration()
        configuration.tls = connection.tls
        http = HTTPClient(configuration: configuration)
        if case .exec(let config) = connection.authentication {
            exec = ExecCredentialProvider(config: config)
        } else {
            exec = nil
        }
        self.userAgent = userAgent
    }

    private let userAgent: String

    public func shutdown() { http.shutdown() }

    // MARK: Requests

    private func authorization() async throws(KubeError) -> String? {
        switch connection.authentication {
        case .none: return nil
        case .bearerToken(let token): return "Bearer \(token)"
        case .bearerTokenFile(let path):
            // Re-read on every use: projected service-account tokens rotate.
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .configuration("cannot read the token file \(path)")
            }
            return "Bearer \(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))"
        case .exec:
            do {
                return "Bearer \(try await exec!.token())"
            } catch {
                throw .configuration("\(error)")
            }
        }
    }

    private func request(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil, contentType: String? = nil,
        timeout: Duration? = .seconds(30)
    ) async throws(KubeError) -> HTTPRequest {
        var url = connection.server.hasSuffix("/") ? String(connection.server.dropLast()) : connection.server
        url += path
        if !query.isEmpty {
            url += "?" + query.map { "\($0.0)=\(Self.queryEscape($0.1))" }.joined(separator: "&")
        }
        var headers: HTTPHeaders = ["Accept": "application/json", "User-Agent": userAgent]
        if let authorization = try await authorization() { headers.set("Authorization", authorization) }
        if let contentType { headers.set("Content-Type", contentType) }
        return HTTPRequest(method: method, url: url, headers: headers, body: body, timeout: timeout)
    }

    static func queryEscape(_ value: String) -> String {
        PercentEncoding.encode(value, keeping: PercentEncoding.unreserved)
    }

    private func send(_ request: HTTPRequest) async throws(KubeError) -> JSONValue {
        do {
            let value = try await exchange(request)
            health.succeeded()
            return value
        } catch {
            if case .transport(.cancelled) = error {} else { health.failed(error) }
            throw error
        }
    }

    private func exchange(_ request: HTTPRequest) async throws(KubeError) -> JSONValue {
        let response: HTTPResponse
        do {
            response = try await http.execute(request)
        } catch let error as TransportError {
            throw .transport(error)
        } catch {
            throw .transport(.cancelled)
        }
        guard response.isSuccess else {
            throw KubeError.from(status: response.status, headers: response.headers, body: response.body)
        }
        do {
            return try JSONValue(parsing: response.body)
        } catch {
            throw .decoding("\(error)")
        }
    }

    private func namespaceFor(_ resource: ResourceRef, _ namespace: String?) -> String? {
        resource.isNamespaced ? namespace : nil
    }

    // MARK: Verbs

    public func get(_ resource: ResourceRef, namespace: String?, name: String, subresource: String? = nil)
        async throws(KubeError) -> JSONValue
    {
        try await send(
            try await request(
                "GET", resource.path(namespace: namespaceFor(resource, namespace), name: name, subresource: subresource)
            ))
    }

    public func list(
        _ resource: ResourceRef, namespace: String?, labelSelector: String? = nil, fieldSelector: String? = nil,
        limit: Int? = nil, continueToken: String? = nil, resourceVersion: String? = nil
    ) async throws(KubeError) -> ObjectList {
        var query: [(String, String)] = []
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        if let limit { query.append(("limit", String(limit))) }
        if let continueToken { query.append(("continue", continueToken)) }
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        let list = try await send(
            try await request("GET", resource.path(namespace: namespaceFor(resource, namespace)), query: query))
        return ObjectList(
            items: list["items"]?.arrayValue ?? [],
            resourceVersion: list.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "",
            continueToken: list.value(at: ["metadata", "continue"])?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        )
    }

    /// Every page of a list, as one snapshot (the first page's resourceVersion).
    public func listAll(
        _ resource: ResourceRef, namespace: String?, labelSelector: String? = nil, fieldSelector: String? = nil,
        pageSize: Int = 500
    ) async throws(KubeError) -> ObjectList {
        var page = try await list(
            resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector, limit: pageSize)
        var items = page.items
        let version = page.resourceVersion
        while let token = page.continueToken {
            page = try await list(
                resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
                limit: pageSize, continueToken: token)
            items += page.items
        }
        return ObjectList(items: items, resourceVersion: version, continueToken: nil)
    }

    public func create(_ resource: ResourceRef, namespace: String?, _ object: JSONValue) async throws(KubeError)
        -> JSONValue
    {
        try await send(
            try await request(
                "POST", resource.path(namespace: namespaceFor(resource, namespace)),
                query: [("fieldManager", fieldManager)], body: object.serialized(), contentType: "application/json"))
    }

    /// PUT: the object's metadata.resourceVersion is the precondition (409 when stale).
    public func update(_ resource: ResourceRef, namespace: String?, _ object: JSONValue, subresource: String? = nil)
        async throws(KubeError) -> JSONValue
    {
        guard let name = object.value(at: ["metadata", "name"])?.stringValue else {
            throw .configuration("update needs metadata.name")
        }
        return try await send(
            try await request(
                "PUT",
                resource.path(namespace: namespaceFor(resource, namespace), name: name, subresource: subresource),
                query: [("fieldManager", fieldManager)], body: object.serialized(), contentType: "application/json"))
    }

    public func patch(
        _ resource: ResourceRef, namespace: String?, name: String, _ patch: PatchBody, subresource: String? = nil
    ) async throws(KubeError) -> JSONValue {
        var query = [("fieldManager", fieldManager)]
        if case .apply(_, let force) = patch, force { query.append(("force", "true")) }
        return try await send(
            try await request(
                "PATCH",
                resource.path(namespace: namespaceFor(resource, namespace), name: name, subresource: subresource),
                query: query, body: patch.body.serialized(), contentType: patch.contentType))
    }

    /// DELETE; with finalizers pending the object is returned with deletionTimestamp set.
    @discardableResult
    public func delete(
        _ resource: ResourceRef, namespace: String?, name: String,
        preconditions: (uid: String?, resourceVersion: String?)? = nil
    ) async throws(KubeError) -> JSONValue {
        var options: JSONValue = ["kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"]
        if let preconditions {
            var fields: [String: JSONValue] = [:]
            if let uid = preconditions.uid { fields["uid"] = .string(uid) }
            if let version = preconditions.resourceVersion { fields["resourceVersion"] = .string(version) }
            options["preconditions"] = .object(fields)
        }
        return try await send(
            try await request(
                "DELETE", resource.path(namespace: namespaceFor(resource, namespace), name: name),
                body: options.serialized(), contentType: "application/json"))
    }

    // MARK: Watch

    /// Opens a watch from `resourceVersion`; events arrive as the server sends them. The
    /// stream ends when the server closes it (timeoutSeconds); a 410 ERROR event is thrown
    /// as `.expired`.
    public func watch(
        _ resource: ResourceRef, namespace: String?, resourceVersion: String, labelSelector: String? = nil,
        fieldSelector: String? = nil, allowBookmarks: Bool = true, timeoutSeconds: Int = 300
    ) async throws(KubeError) -> AsyncThrowingStream<WatchEvent, Error> {
        var query: [(String, String)] = [
            ("watch", "true"), ("resourceVersion", resourceVersion), ("timeoutSeconds", String(timeoutSeconds)),
        ]
        if allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        var request = try await request(
            "GET", resource.path(namespace: namespaceFor(resource, namespace)), query: query, timeout: nil)
        // A silent connection (no events, no bookmarks) for this long is dead.
        request.idleTimeout = .seconds(timeoutSeconds + 60)
        let response: HTTPStreamingResponse
        do {
            response = try await http.stream(request)
        } catch let error as TransportError {
            health.failed(.transport(error))
            throw .transport(error)
        } catch {
            throw .transport(.cancelled)
        }
        guard (200..<300).contains(response.status) else {
            let body = (try? await response.body.collect()) ?? Data()
            let error = KubeError.from(status: response.status, headers: response.headers, body: body)
            health.failed(error)
            throw error
        }
        health.succeeded()
        return WatchEvent.decode(response.body)
    }
}
