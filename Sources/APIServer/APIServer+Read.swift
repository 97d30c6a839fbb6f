import Foundation
import KubeCore
import Synchronization
import Transport

/// Filters a list or watch by label and field selectors, checking the fields are selectable.
struct ObjectFilter {
    var namespace: String?
    var labels: LabelSelector?
    var fields: FieldSelector?

    init(_ request: ResourceRequest) throws(APIError) {
        namespace = request.type.isNamespaced ? request.namespace : nil
        if let text = request.http.query("labelSelector"), !text.isEmpty {
            do { labels = try LabelSelector(parsing: text) } catch {
                throw .badRequest("unable to parse requirement: \(error)")
            }
        }
        if let text = request.http.query("fieldSelector"), !text.isEmpty {
            let selector: FieldSelector
            do { selector = try FieldSelector(parsing: text) } catch { throw .badRequest("\(error)") }
            let allowed = ["metadata.name", "metadata.namespace"] + request.type.selectableFields
            for requirement in selector.requirements {
                let path: [String]
                switch requirement {
                case .equals(let keys, _), .notEquals(let keys, _): path = keys
                }
                let field = path.joined(separator: ".")
                guard allowed.contains(field) else {
                    throw .badRequest("field label not supported: \(field)")
                }
            }
            fields = selector
        }
    }

    var hasSelectors: Bool { labels != nil || fields != nil }

    func matches(_ object: StoredObject) -> Bool {
        if let namespace, object.namespace != namespace { return false }
        if let labels, !labels.matches(object.labels) { return false }
        if let fields {
            for requirement in fields.requirements {
                switch requirement {
                case .equals(let path, let value):
                    if object.fields[path.joined(separator: ".")] ?? "" != value { return false }
                case .notEquals(let path, let value):
                    if object.fields[path.joined(separator: ".")] ?? "" == value { return false }
                }
            }
        }
        return true
    }
}

/// Snapshots behind `continue` tokens, so every page of a chunked list comes from the
/// resourceVersion of the first
/// (https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks).
/// A token whose snapshot was evicted (64 kept, 5 minutes each) gets 410 Expired, as a
/// token past etcd compaction does.
final class PaginationCache: Sendable {
    private struct Entry {
        var objects: [StoredObject]
        var resourceVersion: Int64
        var created: Date
    }

    private let entries = Mutex<[String: Entry]>([:])

    func store(_ objects: [StoredObject], resourceVersion: Int64) -> String {
        let id = UUID().uuidString
        entries.withLock { entries in
            let now = Date()
            entries = entries.filter { now.timeIntervalSince($0.value.created) < 300 }
            if entries.count >= 64, let oldest = entries.min(by: { $0.value.created < $1.value.created }) {
                entries[oldest.key] = nil
            }
            entries[id] = Entry(objects: objects, resourceVersion: resourceVersion, created: now)
        }
        return id
    }

    func lookup(_ id: String) -> (objects: [StoredObject], resourceVersion: Int64)? {
        entries.withLock { entries in entries[id].map { ($0.objects, $0.resourceVersion) } }
    }

    static func token(id: String, offset: Int, resourceVersion: Int64) -> String {
        let json: JSONValue = ["id": .string(id), "offset": .integer(Int64(offset)), "rv": .integer(resourceVersion)]
        return json.serialized().base64EncodedString()
    }

    static func parse(_ token: String) -> (id: String, offset: Int)? {
        guard let data = Data(base64Encoded: token), let json = try? JSONValue(parsing: data),
            let id = json["id"]?.stringValue, let offset = json["offset"]?.intValue
        else { return nil }
        return (id, offset)
    }
}

extension APIServer {
    func handleGet(_ request: ResourceRequest, _ writer: ResponseWriter) throws(APIError) {
        let name = request.name!
        try requireNamespace(request)
        guard let stored = store.get(request.type.storageKey, namespace: request.objectNamespace, name: name) else {
            throw .notFound(request.type, name)
        }
        if request.subresource == "scale" {
            send(writer, 200, ScaleSubresource.scale(of: stored.parsed(), type: request.type))
            return
        }
        if request.wantsTable {
            let object = view(stored, request.type)
            let table = TableRenderer.table(
                for: request.type, objects: [object], resourceVersion: String(stored.resourceVersion),
                continueToken: nil, includeHeaders: true,
                includeObject: request.http.query("includeObject") ?? "Metadata", now: configuration.now())
            send(writer, 200, table)
            return
        }
        send(writer, 200, viewData(stored, request.type))
    }

    func requireNamespace(_ request: ResourceRequest) throws(APIError) {
        guard request.type.isNamespaced, let namespace = request.namespace else { return }
        if store.get(BuiltinResources.namespaces.storageKey, namespace: "", name: namespace) == nil {
            throw .namespaceNotFound(namespace)
        }
    }

    /// The object in the requested version's form.
    func view(_ stored: StoredObject, _ type: ResourceType) -> JSONValue {
        type.view.fromStored(stored.parsed())
    }

    func viewData(_ stored: StoredObject, _ type: ResourceType) -> Data {
        if type.view.isIdentity { return stored.data }
        return view(stored, type).serialized()
    }

    func handleList(_ request: ResourceRequest, _ writer: ResponseWriter) throws(APIError) {
        let type = request.type
        let filter = try ObjectFilter(request)
        let limit = request.http.query("limit").flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
        let requestedVersion = request.http.query("resourceVersion").flatMap { $0.isEmpty ? nil : $0 }
        let match = request.http.query("resourceVersionMatch").flatMap { $0.isEmpty ? nil : $0 }
        if match != nil && requestedVersion == nil {
            throw .badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
        }
        if let match, match != "Exact", match != "NotOlderThan" {
            throw .badRequest(
                "resourceVersionMatch: Unsupported value: \"\(match)\": supported values: \"Exact\", \"NotOlderThan\"")
        }

        var objects: [StoredObject]
        var listVersion: Int64
        var offset = 0
        var snapshotID: String?
        if let token = request.http.query("continue"), !token.isEmpty {
            guard let (id, start) = PaginationCache.parse(token) else {
                throw .badRequest("continue key is not valid: incorrect encoded start resourceVersion")
            }
            guard let snapshot = pagination.lookup(id) else {
                throw .expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a "
                        + "new list without the continue parameter."
                )
            }
            (objects, listVersion, offset, snapshotID) = (snapshot.objects, snapshot.resourceVersion, start, id)
        } else {
            if let requestedVersion, requestedVersion != "0" {
                guard let version = Int64(requestedVersion) else {
                    throw .badRequest("invalid resource version \"\(requestedVersion)\"")
                }
                let current = store.resourceVersion
                if version > current, !store.waitForVersion(version, until: Date().addingTimeInterval(3)) {
                    throw APIError(
                        code: 504, reason: "Timeout",
                        message: "Too large resource version: \(version), current: \(current)",
                        details: [
                            "causes": [["reason": "ResourceVersionTooLarge", "message": "Too large resource version"]],
                            "retryAfterSeconds": 1,
                        ])
                }
                // Only the newest state is kept: an exact match with anything older is gone.
                if (match == "Exact" || (match == nil && limit != nil)) && version < store.resourceVersion {
                    throw .expired("The resourceVersion for the provided list is too old.")
                }
            }
            if request.type.isNamespaced, request.namespace != nil { try requireNamespace(request) }
            let snapshot = store.list(type.storageKey, namespace: filter.namespace)
            objects = snapshot.objects.filter(filter.matches)
            listVersion = snapshot.resourceVersion
        }

        var page = objects[min(offset, objects.count)...]
        var continueToken: String?
        var remaining: Int?
        if let limit, page.count > limit {
            page = page.prefix(limit)
            let id = snapshotID ?? pagination.store(objects, resourceVersion: listVersion)
            continueToken = PaginationCache.token(id: id, offset: offset + limit, resourceVersion: listVersion)
            if !filter.hasSelectors { remaining = objects.count - offset - limit }
        }

        if request.wantsTable {
            let table = TableRenderer.table(
                for: type, objects: page.map { view($0, type) }, resourceVersion: String(listVersion),
                continueToken: continueToken, includeHeaders: true,
                includeObject: request.http.query("includeObject") ?? "Metadata", now: configuration.now()
            )
            send(writer, 200, table)
            return
        }
        var metadata: [String: JSONValue] = ["resourceVersion": .string(String(listVersion))]
        if let continueToken { metadata["continue"] = .string(continueToken) }
        if let remaining { metadata["remainingItemCount"] = .integer(Int64(remaining)) }
        // Items are spliced in as stored bytes rather than re-serialised.
        var body = Data("{\"apiVersion\":".utf8)
        body.append(JSONValue.string(type.groupVersion).serialized())
        body.append(Data(",\"kind\":".utf8))
        body.append(JSONValue.string(type.listKind).serialized())
        body.append(Data(",\"metadata\":".utf8))
        body.append(JSONValue.object(metadata).serialized())
        body.append(Data(",\"items\":[".utf8))
        for (index, object) in page.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(viewData(object, type))
        }
        body.append(Data("]}".utf8))
        send(writer, 200, body)
    }
}
