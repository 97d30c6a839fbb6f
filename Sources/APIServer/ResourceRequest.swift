import Foundation
import KubeCore
import Transport

/// A request for a resource, parsed from `/api/v1/…` or `/apis/{group}/{version}/…`
/// (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris).
struct ResourceRequest {
    var type: ResourceType
    /// The namespace in the path; nil for cluster-scoped types and all-namespaces lists.
    var namespace: String?
    var name: String?
    var subresource: String?
    var http: ServerRequest

    enum Parse {
        case resource(ResourceRequest)
        case resourceList(group: String, version: String)
        case notFound
    }

    static func parse(_ request: ServerRequest, registry: ResourceRegistry) -> Parse {
        let segments = request.rawPath.split(separator: "/").map {
            $0.utf8.contains(UInt8(ascii: "%")) ? ($0.removingPercentEncoding ?? String($0)) : String($0)
        }
        let group: String
        let version: String
        let rest: ArraySlice<String>
        if segments.first == "api", segments.count >= 2 {
            (group, version, rest) = ("", segments[1], segments[2...])
        } else if segments.first == "apis", segments.count >= 3 {
            (group, version, rest) = (segments[1], segments[2], segments[3...])
        } else {
            return .notFound
        }
        if rest.isEmpty { return .resourceList(group: group, version: version) }
        let parts = Array(rest)
        // namespaces/{ns}/{resource}[/{name}[/{subresource}]] when {resource} is namespaced.
        if parts.count >= 3, parts[0] == "namespaces",
            let type = registry.lookup(group: group, version: version, plural: parts[2]), type.isNamespaced,
            parts.count <= 5
        {
            return .resource(
                ResourceRequest(
                    type: type, namespace: parts[1], name: parts.count > 3 ? parts[3] : nil,
                    subresource: parts.count > 4 ? parts[4] : nil, http: request
                ))
        }
        guard parts.count <= 3, let type = registry.lookup(group: group, version: version, plural: parts[0]) else {
            return .notFound
        }
        if type.isNamespaced && parts.count > 1 { return .notFound }
        return .resource(
            ResourceRequest(
                type: type, namespace: nil, name: parts.count > 1 ? parts[1] : nil,
                subresource: parts.count > 2 ? parts[2] : nil, http: request
            ))
    }

    var verb: String {
        switch http.method {
        case "GET", "HEAD":
            if name != nil { return "get" }
            return Self.isTrue(http.query("watch")) ? "watch" : "list"
        case "POST": return "create"
        case "PUT": return "update"
        case "PATCH": return "patch"
        case "DELETE": return name == nil ? "deletecollection" : "delete"
        default: return http.method.lowercased()
        }
    }

    /// apimachinery's boolean query parsing: absent, "0" and "false" (any case) are false;
    /// anything else — even empty, or Python's "True" — is true.
    static func isTrue(_ value: String?) -> Bool {
        guard let value else { return false }
        return value != "0" && value.lowercased() != "false"
    }

    func flag(_ name: String) -> Bool { Self.isTrue(http.query(name)) }

    var isDryRun: Bool { http.query("dryRun") == "All" }

    /// The object key namespace: the path's, or "" for cluster-scoped types.
    var objectNamespace: String { type.isNamespaced ? (namespace ?? "") : "" }

    /// Field manager for non-apply writes: `?fieldManager=` or the User-Agent's product.
    var fieldManager: String {
        if let manager = http.query("fieldManager"), !manager.isEmpty { return manager }
        let agent = http.headers["User-Agent"] ?? "unknown"
        return String(agent.prefix { $0 != "/" && $0 != " " })
    }

    var wantsTable: Bool {
        (http.headers["Accept"] ?? "").contains("as=Table")
    }

    /// 406 when the client accepts none of JSON, Table-as-JSON or `*/*`.
    var acceptsJSON: Bool {
        guard let accept = http.headers["Accept"], !accept.isEmpty else { return true }
        return accept.split(separator: ",").contains { item in
            let media = item.split(separator: ";").first.map { $0.trimmingHTTPWhitespace } ?? ""
            return media == "application/json" || media == "*/*" || media == "application/*" || media.hasSuffix("+json")
        }
    }

    var contentType: String {
        let raw = http.headers["Content-Type"] ?? ""
        return raw.split(separator: ";").first.map { $0.trimmingHTTPWhitespace.lowercased() } ?? ""
    }
}
