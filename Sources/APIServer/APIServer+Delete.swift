import Foundation
import KubeCore
import Transport

/// Deletion per https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-deletion:
/// an object with finalizers gets `deletionTimestamp` (and generation+1) and stays until an
/// update removes its last finalizer; otherwise it goes at once with a DELETED event.
/// Deleting a namespace deletes its contents first (the namespace controller's job on a real
/// cluster); there is no garbage collector, so ownerReferences do not cascade.
extension APIServer {
    func handleDelete(_ request: ResourceRequest, _ writer: ResponseWriter) throws(APIError) {
        guard request.subresource == nil else { throw .methodNotAllowed("DELETE is not supported on a subresource") }
        let options =
            request.http.body.isEmpty ? JSONValue.object([:]) : ((try? JSONValue(parsing: request.http.body)) ?? [:])
        let type = request.type
        let name = request.name!
        try requireNamespace(request)
        if type.plural == "namespaces" {
            try deleteNamespaceContents(name, dryRun: request.isDryRun)
        }
        let stored = try deleteObject(
            type, namespace: request.objectNamespace, name: name, options: options, dryRun: request.isDryRun)
        afterWrite(type, namespace: type.plural == "namespaces" ? name : request.namespace)
        send(writer, 200, viewData(stored, type))
    }

    func handleDeleteCollection(_ request: ResourceRequest, _ writer: ResponseWriter) throws(APIError) {
        let type = request.type
        let filter = try ObjectFilter(request)
        try requireNamespace(request)
        let targets = store.list(type.storageKey, namespace: filter.namespace).objects.filter(filter.matches)
        for target in targets {
            do {
                _ = try deleteObject(
                    type, namespace: target.namespace, name: target.name, options: [:], dryRun: request.isDryRun)
            } catch  where error.code == 404 {
                continue
            }
        }
        afterWrite(type, namespace: request.namespace)
        send(writer, 200, ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success"])
    }

    private func deleteObject(_ type: ResourceType, namespace: String, name: String, options: JSONValue, dryRun: Bool)
        throws(APIError) -> StoredObject
    {
        let hasContents = type.plural == "namespaces" && store.namespaceHasObjects(name)
        let stored = try store.mutate(type.storageKey, namespace: namespace, name: name) {
            current, version throws(APIError) in
            guard let current else { throw .notFound(type, name) }
            var object = current.parsed()
            if let uid = options.value(at: ["preconditions", "uid"])?.stringValue,
                uid != object.value(at: ["metadata", "uid"])?.stringValue
            {
                throw .conflict(
                    type, name,
                    "Precondition failed: UID in precondition: \(uid), UID in object meta: "
                        + "\(object.value(at: ["metadata", "uid"])?.stringValue ?? "")"
                )
            }
            if let expected = options.value(at: ["preconditions", "resourceVersion"])?.stringValue,
                expected != String(current.resourceVersion)
            {
                throw .conflict(
                    type, name,
                    "Precondition failed: ResourceVersion in precondition: \(expected), ResourceVersion in object "
                        + "meta: \(current.resourceVersion)"
                )
            }
            let finalizers = object.value(at: ["metadata", "finalizers"])?.arrayValue ?? []
            // A namespace waits for its contents (the "kubernetes" spec finalizer).
            if !finalizers.isEmpty || hasContents {
                if object.value(at: ["metadata", "deletionTimestamp"]) != nil { return .unchanged }
                object.setValue(.string(Timestamps.format(configuration.now())), at: ["metadata", "deletionTimestamp"])
                object.setValue(0, at: ["metadata", "deletionGracePeriodSeconds"])
                if type.tracksGeneration {
                    object.setValue(
                        .integer(Int64((object.value(at: ["metadata", "generation"])?.intValue ?? 0) + 1)),
                        at: ["metadata", "generation"])
                }
                if type.plural == "namespaces" { object.setValue("Terminating", at: ["status", "phase"]) }
                if dryRun { return .preview(object) }
                object.setValue(.string(String(version)), at: ["metadata", "resourceVersion"])
                return .put(object)
            }
            if dryRun { return .preview(object) }
            object.setValue(.string(String(version)), at: ["metadata", "resourceVersion"])
            return .delete(object)
        }
        return stored!
    }

    /// Deletes everything in a namespace (objects with finalizers are marked and stay).
    private func deleteNamespaceContents(_ namespace: String, dryRun: Bool) throws(APIError) {
        guard !dryRun else { return }
        let storageKeys = Set(registry.all.filter(\.isNamespaced).map(\.storageKey))
        for storageKey in storageKeys {
            guard let type = registry.all.first(where: { $0.storageKey == storageKey }) else { continue }
            for object in store.list(storageKey, namespace: namespace).objects {
                do {
                    _ = try deleteObject(type, namespace: namespace, name: object.name, options: [:], dryRun: false)
                } catch  where error.code == 404 {
                    continue
                }
            }
        }
    }

    /// A terminating namespace goes once it is empty (the "kubernetes" finalizer's job).
    func finishNamespaceIfEmpty(_ namespace: String) {
        let namespaces = BuiltinResources.namespaces
        guard let stored = store.get(namespaces.storageKey, namespace: "", name: namespace),
            stored.data.range(of: Data("deletionTimestamp".utf8)) != nil,
            stored.parsed().value(at: ["metadata", "deletionTimestamp"]) != nil,
            !store.namespaceHasObjects(namespace)
        else { return }
        _ = try? store.mutate(namespaces.storageKey, namespace: "", name: namespace) {
            current, version throws(APIError) in
            guard var object = current?.parsed() else { return .unchanged }
            object.setValue(.string(String(version)), at: ["metadata", "resourceVersion"])
            object.setValue(nil, at: ["metadata", "finalizers"])
            object.setValue(nil, at: ["spec", "finalizers"])
            return .delete(object)
        }
    }
}
