import Foundation
import KubeCore
import Transport

/// Per-request facts a write collects inside the store lock and reports afterwards.
private final class WriteReport {
    var warnings: [String] = []
}

extension APIServer {
    // MARK: Body decoding

    /// JSON (also when Content-Type is missing, as the Python client sends it), YAML for
    /// apply patches, and protobuf for the built-ins kubectl's typed clients send that way.
    func decodeBody(_ request: ResourceRequest) throws(APIError) -> (object: JSONValue, duplicates: [String]) {
        let body = request.http.body
        if request.contentType == "application/vnd.kubernetes.protobuf" {
            do {
                return (try KubeProtobuf.decode(body), [])
            } catch {
                throw .badRequest("cannot decode the protobuf body: \(error.problem)")
            }
        }
        do {
            let parsed = try JSONValue.parseReportingDuplicates(body, maxDepth: StoreLimits.objectDepth)
            return (parsed.value, parsed.duplicateKeys)
        } catch {
            if request.contentType == "application/apply-patch+yaml", let text = String(data: body, encoding: .utf8) {
                do throws(YAML.ParseError) {
                    return (try YAML.parse(text, maxDepth: StoreLimits.objectDepth), [])
                } catch let yamlError {
                    throw .badRequest(
                        "the body of the request is neither valid JSON (\(error)) nor valid YAML (\(yamlError))")
                }
            }
            throw .badRequest("the body of the request is not valid JSON: \(error)")
        }
    }

    /// Strict (400) or Warn (`Warning:` header) handling of unknown and duplicate fields.
    private func fieldValidation(
        _ request: ResourceRequest, unknown: [String], duplicates: [String], report: WriteReport
    ) throws(APIError) {
        let problems = duplicates.map { "duplicate field \"\($0)\"" } + unknown.map { "unknown field \"\($0)\"" }
        guard !problems.isEmpty else { return }
        switch request.http.query("fieldValidation") ?? "Warn" {
        case "Strict":
            let type = request.type
            throw .badRequest(
                "\(type.kind) in version \"\(type.version)\" cannot be handled as a \(type.kind): strict decoding "
                    + "error: \(problems.joined(separator: ", "))"
            )
        case "Ignore":
            break
        default:
            report.warnings += problems
        }
    }

    private func checkTypeMeta(_ object: JSONValue, _ type: ResourceType) throws(APIError) {
        if let apiVersion = object["apiVersion"]?.stringValue, !apiVersion.isEmpty, apiVersion != type.groupVersion {
            throw .badRequest(
                "the API version in the data (\(apiVersion)) does not match the expected API version "
                    + "(\(type.groupVersion))"
            )
        }
        if let kind = object["kind"]?.stringValue, !kind.isEmpty, kind != type.kind {
            throw .badRequest("the kind in the data (\(kind)) does not match the expected kind (\(type.kind))")
        }
    }

    /// Pruning, defaulting and validation of a custom resource, or a built-in's admission.
    private func admit(_ object: inout JSONValue, _ type: ResourceType, name: String) throws(APIError) -> [String] {
        var unknown: [String] = []
        var causes: [FieldCause] = []
        if let schema = type.schema {
            unknown = schema.prune(&object)
            schema.applyDefaults(&object)
            causes = schema.validate(object)
        } else if var metadata = object["metadata"] {
            unknown = ObjectMetaFields.prune(&metadata, path: "metadata")
            object["metadata"] = metadata
        }
        causes += type.admit(&object)
        for (key, value) in object.value(at: ["metadata", "annotations"])?.objectValue ?? [:]
        where value.stringValue == nil {
            causes.append(.invalid("metadata.annotations", "\"\(key)\"", "annotation values must be strings"))
        }
        if let labels = object.value(at: ["metadata", "labels"])?.objectValue {
            for (key, value) in labels {
                if !LabelSelector.isValidKey(key) {
                    causes.append(
                        .invalid(
                            "metadata.labels", "\"\(key)\"",
                            "name part must consist of alphanumeric characters, '-', '_' or '.'"))
                }
                if value.stringValue.map(LabelSelector.isValidValue) != true {
                    causes.append(
                        .invalid(
                            "metadata.labels", "\"\(FieldSelector.text(value))\"",
                            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                                + "'.'"
                        ))
                }
            }
        }
        guard causes.isEmpty else { throw .invalid(type, name, causes) }
        return unknown
    }

    private func respondWritten(_ writer: ResponseWriter, _ status: Int, _ object: Data, _ report: WriteReport) {
        send(
            writer, status, object,
            headers: report.warnings.map { ("Warning", "299 - \"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"") }
        )
    }

    private func namespaceIsTerminating(_ namespace: String) -> Bool {
        guard let stored = store.get(BuiltinResources.namespaces.storageKey, namespace: "", name: namespace),
            stored.data.range(of: Data("deletionTimestamp".utf8)) != nil
        else { return false }
        return stored.parsed().value(at: ["metadata", "deletionTimestamp"]) != nil
    }

    // MARK: Create

    func handleCreate(_ request: ResourceRequest, _ writer: ResponseWriter) throws(APIError) {
        guard request.name == nil, request.subresource == nil else {
            throw .methodNotAllowed("POST is not supported on a named object")
        }
        let type = request.type
        let report = WriteReport()
        var (object, duplicates) = try decodeBody(request)
        guard case .object = object else { throw .badRequest("the body must be a JSON object") }
        try checkTypeMeta(object, type)
        object["apiVersion"] = .string(type.groupVersion)
        object["kind"] = .string(type.kind)
        var metadata = object["metadata"]?.objectValue ?? [:]
        if let namespace = request.namespace, type.isNamespaced {
            if let bodyNamespace = metadata["namespace"]?.stringValue, !bodyNamespace.isEmpty,
                bodyNamespace != namespace
            {
                throw .badRequest(
                    "the namespace of the provided object does not match the namespace sent on the request")
            }
            metadata["namespace"] = .string(namespace)
        } else if type.isNamespaced {
            throw .methodNotAllowed("create of a namespaced resource needs a namespace in the path")
        } else {
            metadata["namespace"] = nil
        }
        var name = metadata["name"]?.stringValue ?? ""
        if name.isEmpty, let prefix = metadata["generateName"]?.stringValue, !prefix.isEmpty {
            name = prefix + Self.randomSuffix()
            metadata["name"] = .string(name)
        }
        try validateNewName(name, type)
        let namespace = type.isNamespaced ? request.namespace! : ""
        if type.isNamespaced {
            try requireNamespace(request)
            if namespaceIsTerminating(namespace) {
                throw APIError(
                    code: 403, reason: "Forbidden",
                    message:
                        "\(type.qualifiedName) \"\(name)\" is forbidden: unable to create new content in namespace "
                        + "\(namespace) because it is being terminated"
                )
            }
        }
        for key in [
            "uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation",
            "creationTimestamp",
        ] {
            metadata[key] = nil
        }
        let clientManagedFields = metadata["managedFields"]
        metadata["managedFields"] = nil
        object["metadata"] = .object(metadata)
        if let clientManagedFields { object.setValue(clientManagedFields, at: ["metadata", "managedFields"]) }
        try commitNew(
            request, object, name: name, duplicates: duplicates, report: report, writer: writer,
            recordsUpdate: clientManagedFields == nil, onExisting: .alreadyExists(type, name))
    }

    /// The shared tail of create and create-by-apply: status dropped where a subresource owns
    /// it, admission, field validation, system metadata, dry run, store, respond 201.
    private func commitNew(
        _ request: ResourceRequest, _ proposed: JSONValue, name: String, duplicates: [String], report: WriteReport,
        writer: ResponseWriter, recordsUpdate: Bool, onExisting: APIError
    ) throws(APIError) {
        let type = request.type
        var object = proposed
        if type.hasStatusSubresource { object["status"] = nil }
        let unknown = try admit(&object, type, name: name)
        try fieldValidation(request, unknown: unknown, duplicates: duplicates, report: report)
        object.setValue(.string(UUID().uuidString.lowercased()), at: ["metadata", "uid"])
        object.setValue(.string(Timestamps.format(configuration.now())), at: ["metadata", "creationTimestamp"])
        if type.tracksGeneration { object.setValue(1, at: ["metadata", "generation"]) }
        if recordsUpdate {
            ManagedFields.recordUpdate(
                old: nil, new: &object, manager: request.fieldManager, subresource: nil, apiVersion: type.groupVersion,
                now: configuration.now())
        }
        if request.isDryRun {
            respondWritten(writer, 201, object.serialized(), report)
            return
        }
        let prepared = object
        let stored = try store.mutate(type.storageKey, namespace: request.objectNamespace, name: name) {
            current, version throws(APIError) in
            guard current == nil else { throw onExisting }
            var final = prepared
            final.setValue(.string(String(version)), at: ["metadata", "resourceVersion"])
            return .put(type.view.toStored(final))
        }
        afterWrite(type, namespace: request.namespace)
        respondWritten(writer, 201, viewData(stored!, type), report)
    }

    /// The name rules of a create, whichever verb creates (POST or server-side apply).
    private func validateNewName(_ name: String, _ type: ResourceType) throws(APIError) {
        guard !name.isEmpty else {
            throw .invalid(
                type, "",
                [
                    FieldCause(
                        type: "FieldValueRequired", field: "metadata.name",
                        message: "Required value: name or generateName is required")
                ])
        }
        let nameCauses =
            type.plural == "namespaces"
            ? Validation.dnsLabel(name, field: "metadata.name") : Validation.dnsSubdomain(name, field: "metadata.name")
        guard nameCauses.isEmpty else { throw .invalid(type, name, nameCauses) }
    }

    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }

    // MARK: Update and patch

    func handleUpdate(_ request: ResourceRequest, _ writer: ResponseWriter) throws(APIError) {
        let type = request.type
        guard let name = request.name else { throw .methodNotAllowed("PUT needs an object name") }
        let report = WriteReport()
        let (body, duplicates) = try decodeBody(request)
        guard case .object = body else { throw .badRequest("the body must be a JSON object") }
        if request.subresource != "scale" { try checkTypeMeta(body, type) }
        if let bodyName = body.value(at: ["metadata", "name"])?.stringValue, !bodyName.isEmpty, bodyName != name {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        try requireNamespace(request)
        let stored = try store.mutate(type.storageKey, namespace: request.objectNamespace, name: name) {
            current, version throws(APIError) in
            guard let current else { throw .notFound(type, name) }
            let old = view(current, type)
            var proposed = body
            if request.subresource == "scale" {
                try checkVersion(body, against: current, type: type, name: name)
                proposed = try ScaleSubresource.apply(body, to: old, type: type, name: name)
            } else {
                guard let bodyVersion = body.value(at: ["metadata", "resourceVersion"])?.stringValue,
                    !bodyVersion.isEmpty
                else {
                    if !type.allowsUnconditionalUpdate {
                        throw .invalid(
                            type, name, [.invalid("metadata.resourceVersion", "0x0", "must be specified for an update")]
                        )
                    }
                    return try finishUpdate(
                        request, old: old, proposed: proposed, version: version, duplicates: duplicates, report: report)
                }
                try checkVersion(body, against: current, type: type, name: name)
            }
            return try finishUpdate(
                request, old: old, proposed: proposed, version: version, duplicates: duplicates, report: report)
        }
        afterWrite(type, namespace: request.namespace)
        try respondAfterWrite(request, writer, stored, report)
    }

    private func respondAfterWrite(
        _ request: ResourceRequest, _ writer: ResponseWriter, _ stored: StoredObject?, _ report: WriteReport
    ) throws(APIError) {
        guard let stored else { throw .notFound(request.type, request.name ?? "") }
        if request.subresource == "scale" {
            respondWritten(
                writer, 200, ScaleSubresource.scale(of: stored.parsed(), type: request.type).serialized(), report)
        } else {
            respondWritten(writer, 200, viewData(stored, request.type), report)
        }
    }

    private func checkVersion(_ body: JSONValue, against current: StoredObject, type: ResourceType, name: String)
        throws(APIError)
    {
        guard let version = body.value(at: ["metadata", "resourceVersion"])?.stringValue, !version.isEmpty else {
            return
        }
        if version != String(current.resourceVersion) { throw .conflict(type, name) }
    }

    func handlePatch(_ request: ResourceRequest, _ writer: ResponseWriter) throws(APIError) {
        let type = request.type
        guard let name = request.name else { throw .methodNotAllowed("PATCH needs an object name") }
        let contentType = request.contentType
        let isApply = contentType == "application/apply-patch+yaml"
        guard
            [
                "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
                "application/apply-patch+yaml",
            ].contains(contentType)
        else {
            throw .unsupportedMediaType(contentType)
        }
        if contentType == "application/strategic-merge-patch+json",
            type.isCustomResource || request.subresource == "scale" && type.isCustomResource
        {
            throw APIError(
                code: 415, reason: "UnsupportedMediaType",
                message:
                    "strategic merge patch is not supported for custom resources; use application/merge-patch+json, "
                    + "application/json-patch+json or application/apply-patch+yaml"
            )
        }
        let manager = request.http.query("fieldManager") ?? ""
        if isApply && manager.isEmpty {
            throw .badRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        }
        let report = WriteReport()
        let (patch, duplicates) = try decodeBody(request)
        try requireNamespace(request)
        if isApply, store.get(type.storageKey, namespace: request.objectNamespace, name: name) == nil,
            request.subresource == nil
        {
            try applyCreate(
                request, patch: patch, name: name, manager: manager, writer: writer, report: report,
                duplicates: duplicates)
            return
        }
        let stored = try store.mutate(type.storageKey, namespace: request.objectNamespace, name: name) {
            current, version throws(APIError) in
            guard let current else { throw .notFound(type, name) }
            let old = view(current, type)
            let base = request.subresource == "scale" ? ScaleSubresource.scale(of: old, type: type) : old
            var patched: JSONValue
            switch contentType {
            case "application/json-patch+json":
                do { patched = try applyJSONPatch(patch, to: base) } catch {
                    throw APIError(
                        code: 422, reason: "Invalid",
                        message: "the server rejected our request due to an error in our request: \(error)")
                }
            case "application/merge-patch+json":
                guard case .object = patch else { throw .badRequest("a merge patch must be a JSON object") }
                patched = applyMergePatch(patch, to: base)
            case "application/strategic-merge-patch+json":
                do throws(StrategicMerge.PatchError) { patched = try StrategicMerge.apply(patch, to: base) } catch {
                    throw .badRequest("invalid strategic merge patch: \(error.problem)")
                }
            default:
                try checkTypeMeta(patch, type)
                try checkVersion(patch, against: current, type: type, name: name)
                do throws(ManagedFields.Conflict) {
                    patched = try ManagedFields.apply(
                        patch, to: base, manager: manager, force: request.flag("force"),
                        subresource: request.subresource, apiVersion: type.groupVersion, now: configuration.now())
                } catch {
                    throw Self.applyConflict(error, type: type, name: name)
                }
            }
            // A resourceVersion the patch put into metadata is a precondition.
            if patched.value(at: ["metadata", "resourceVersion"]) != base.value(at: ["metadata", "resourceVersion"]) {
                guard
                    patched.value(at: ["metadata", "resourceVersion"])?.stringValue == String(current.resourceVersion)
                else { throw .conflict(type, name) }
            }
            if request.subresource == "scale" {
                patched = try ScaleSubresource.apply(patched, to: old, type: type, name: name)
            }
            return try finishUpdate(
                request, old: old, proposed: patched, version: version, duplicates: duplicates, report: report,
                isApply: isApply)
        }
        afterWrite(type, namespace: request.namespace)
        try respondAfterWrite(request, writer, stored, report)
    }

    static func applyConflict(_ conflict: ManagedFields.Conflict, type: ResourceType, name: String) -> APIError {
        let lines = conflict.conflicts.map {
            "conflict with \"\($0.manager)\" using \($0.apiVersion): \(ManagedFields.dotted($0.path))"
        }
        let message =
            conflict.conflicts.count == 1
            ? "Apply failed with 1 conflict: \(lines[0])"
            : "Apply failed with \(conflict.conflicts.count) conflicts: \(lines.joined(separator: "\n"))"
        var error = APIError.conflict(type, name)
        error.message = message
        error.details = [
            "name": .string(name), "group": .string(type.group), "kind": .string(type.plural),
            "causes": .array(
                conflict.conflicts.map {
                    [
                        "reason": "FieldManagerConflict",
                        "message": .string("conflict with \"\($0.manager)\" using \($0.apiVersion)"),
                        "field": .string(ManagedFields.dotted($0.path)),
                    ]
                }),
        ]
        return error
    }

    /// Server-side apply of an object that does not exist yet creates it.
    private func applyCreate(
        _ request: ResourceRequest, patch: JSONValue, name: String, manager: String, writer: ResponseWriter,
        report: WriteReport, duplicates: [String]
    ) throws(APIError) {
        let type = request.type
        try validateNewName(name, type)
        guard case .object = patch else { throw .badRequest("the body must be a JSON object") }
        try checkTypeMeta(patch, type)
        if let bodyName = patch.value(at: ["metadata", "name"])?.stringValue, !bodyName.isEmpty, bodyName != name {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        var object: JSONValue
        do throws(ManagedFields.Conflict) {
            object = try ManagedFields.apply(
                patch, to: nil, manager: manager, force: true, subresource: nil, apiVersion: type.groupVersion,
                now: configuration.now())
        } catch {
            throw Self.applyConflict(error, type: type, name: name)
        }
        object["apiVersion"] = .string(type.groupVersion)
        object["kind"] = .string(type.kind)
        object.setValue(.string(name), at: ["metadata", "name"])
        if type.isNamespaced { object.setValue(.string(request.objectNamespace), at: ["metadata", "namespace"]) }
        try commitNew(
            request, object, name: name, duplicates: duplicates, report: report, writer: writer, recordsUpdate: false,
            onExisting: .conflict(type, name, "the object was created concurrently; retry the apply"))
    }

    /// The shared tail of PUT and PATCH: subresource rules, system metadata, finalizers,
    /// admission, generation, managedFields, no-op detection, and release of a deleting
    /// object whose last finalizer is gone. Runs under the store lock.
    private func finishUpdate(
        _ request: ResourceRequest, old: JSONValue, proposed: JSONValue, version: Int64, duplicates: [String],
        report: WriteReport, isApply: Bool = false
    ) throws(APIError) -> StoreMutation {
        let type = request.type
        let name = request.name!
        var new: JSONValue
        if request.subresource == "status" {
            new = old
            new["status"] = proposed["status"]
            if let managed = proposed.value(at: ["metadata", "managedFields"]) {
                new.setValue(managed, at: ["metadata", "managedFields"])
            }
        } else {
            new = proposed
            if type.hasStatusSubresource { new["status"] = old["status"] }
        }
        new["apiVersion"] = old["apiVersion"]
        new["kind"] = old["kind"]
        for key in [
            "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace",
            "name", "selfLink",
        ] {
            new.setValue(old.value(at: ["metadata", key]), at: ["metadata", key])
        }
        let isDeleting = old.value(at: ["metadata", "deletionTimestamp"]) != nil
        if isDeleting {
            let oldFinalizers = old.value(at: ["metadata", "finalizers"])?.arrayValue ?? []
            let added = (new.value(at: ["metadata", "finalizers"])?.arrayValue ?? []).filter {
                !oldFinalizers.contains($0)
            }
            if !added.isEmpty {
                throw .invalid(
                    type, name,
                    [
                        FieldCause(
                            type: "FieldValueForbidden", field: "metadata.finalizers",
                            message:
                                "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                                + "finalizers \(added.compactMap(\.stringValue))"
                        )
                    ])
            }
        }
        let unknown = try admit(&new, type, name: name)
        try fieldValidation(request, unknown: unknown, duplicates: duplicates, report: report)
        if type.tracksGeneration {
            func specPart(_ object: JSONValue) -> JSONValue {
                var copy = object
                copy["metadata"] = nil
                if type.hasStatusSubresource { copy["status"] = nil }
                return copy
            }
            if specPart(new) != specPart(old) {
                new.setValue(
                    .integer(Int64((old.value(at: ["metadata", "generation"])?.intValue ?? 0) + 1)),
                    at: ["metadata", "generation"])
            }
        }
        let proposedManaged = proposed.value(at: ["metadata", "managedFields"])
        if !isApply && (proposedManaged == nil || proposedManaged == old.value(at: ["metadata", "managedFields"])) {
            new.setValue(old.value(at: ["metadata", "managedFields"]), at: ["metadata", "managedFields"])
            ManagedFields.recordUpdate(
                old: old, new: &new, manager: request.fieldManager,
                subresource: request.subresource == "status" ? "status" : nil, apiVersion: type.groupVersion,
                now: configuration.now())
        }
        new.setValue(old.value(at: ["metadata", "resourceVersion"]), at: ["metadata", "resourceVersion"])
        if Self.withoutManagedFieldTimes(new) == Self.withoutManagedFieldTimes(old) { return .unchanged }
        if request.isDryRun { return .preview(type.view.toStored(new)) }
        new.setValue(.string(String(version)), at: ["metadata", "resourceVersion"])
        if isDeleting && (new.value(at: ["metadata", "finalizers"])?.arrayValue ?? []).isEmpty {
            return .delete(type.view.toStored(new))
        }
        return .put(type.view.toStored(new))
    }

    static func withoutManagedFieldTimes(_ object: JSONValue) -> JSONValue {
        guard var entries = object.value(at: ["metadata", "managedFields"])?.arrayValue else { return object }
        for index in entries.indices { entries[index]["time"] = nil }
        var copy = object
        copy.setValue(.array(entries), at: ["metadata", "managedFields"])
        return copy
    }

    /// Keeps discovery and the CRD-derived types in step with stored CRDs.
    func afterWrite(_ type: ResourceType, namespace: String?) {
        if let namespace { finishNamespaceIfEmpty(namespace) }
        guard type.storageKey == CustomResourceDefinitions.resourceType.storageKey else { return }
        let before = Set(registry.all.filter(\.isCustomResource).map(\.storageKey))
        refreshCustomResources()
        let after = registry.all.filter(\.isCustomResource)
        store.reindex(storageKeys: Set(after.map(\.storageKey)))
        // A deleted CRD takes its custom resources with it.
        for storageKey in before.subtracting(after.map(\.storageKey)) {
            _ = try? store.deleteAll(storageKey, where: { _ in true }, finalState: Self.deletedState)
        }
    }

    static func deletedState(_ object: JSONValue, _ version: Int64) -> JSONValue {
        var final = object
        final.setValue(.string(String(version)), at: ["metadata", "resourceVersion"])
        return final
    }
}
