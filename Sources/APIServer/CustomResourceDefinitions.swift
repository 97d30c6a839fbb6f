import Foundation
import KubeCore

/// apiextensions.k8s.io/v1 CustomResourceDefinitions: validated on write, given the status a
/// real server reports (NamesAccepted, Established, acceptedNames, storedVersions), and turned
/// into served resource types — nothing here knows any particular CRD.
enum CustomResourceDefinitions {
    static let resourceType: ResourceType = {
        var type = ResourceType(
            group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
            singular: "customresourcedefinition", kind: "CustomResourceDefinition", isNamespaced: false)
        type.shortNames = ["crd", "crds"]
        type.categories = ["api-extensions"]
        type.hasStatusSubresource = true
        type.tracksGeneration = true
        // kube-apiserver prints this column as the timestamp itself, not an age.
        type.columns = [
            TableColumn(name: "Created At", type: "date") { object, _ in
                object.value(at: ["metadata", "creationTimestamp"]) ?? .null
            }
        ]
        type.admit = admit
        return type
    }()

    static let admit: @Sendable (inout JSONValue) -> [FieldCause] = { crd in
        let causes = validate(crd)
        guard causes.isEmpty else { return causes }
        let names = acceptedNames(crd)
        let now = JSONValue.string(Timestamps.format(Date()))
        let existing = crd.value(at: ["status", "conditions"])?.arrayValue ?? []
        func condition(_ type: String, _ reason: String, _ message: String) -> JSONValue {
            let previous = existing.first { $0["type"]?.stringValue == type }
            let since = previous?["status"]?.stringValue == "True" ? previous?["lastTransitionTime"] ?? now : now
            return [
                "type": .string(type), "status": "True", "lastTransitionTime": since, "reason": .string(reason),
                "message": .string(message),
            ]
        }
        let versions = crd.value(at: ["spec", "versions"])?.arrayValue ?? []
        var stored = crd.value(at: ["status", "storedVersions"])?.arrayValue?.compactMap(\.stringValue) ?? []
        for version in versions where version["storage"]?.boolValue == true {
            if let name = version["name"]?.stringValue, !stored.contains(name) { stored.append(name) }
        }
        crd["status"] = [
            "acceptedNames": names,
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "storedVersions": .array(stored.map(JSONValue.string)),
        ]
        return []
    }

    static func acceptedNames(_ crd: JSONValue) -> JSONValue {
        let names = crd.value(at: ["spec", "names"]) ?? [:]
        let kind = names["kind"]?.stringValue ?? ""
        var accepted: [String: JSONValue] = [
            "plural": names["plural"] ?? "",
            "singular": .string(names["singular"]?.stringValue ?? kind.lowercased()),
            "kind": .string(kind),
            "listKind": .string(names["listKind"]?.stringValue ?? kind + "List"),
        ]
        if let shortNames = names["shortNames"] { accepted["shortNames"] = shortNames }
        if let categories = names["categories"] { accepted["categories"] = categories }
        return .object(accepted)
    }

    static func validate(_ crd: JSONValue) -> [FieldCause] {
        var causes: [FieldCause] = []
        let spec = crd["spec"] ?? [:]
        let group = spec["group"]?.stringValue ?? ""
        let plural = spec.value(at: ["names", "plural"])?.stringValue ?? ""
        let kind = spec.value(at: ["names", "kind"])?.stringValue ?? ""
        if group.isEmpty {
            causes.append(.required("spec.group"))
        } else if !group.contains(".") {
            causes.append(.invalid("spec.group", "\"\(group)\"", "should be a domain with at least one dot"))
        }
        if plural.isEmpty {
            causes.append(.required("spec.names.plural"))
        } else if !Validation.isDNSLabel(plural) {
            causes += Validation.dnsLabel(plural, field: "spec.names.plural")
        }
        if kind.isEmpty { causes.append(.required("spec.names.kind")) }
        let name = crd.value(at: ["metadata", "name"])?.stringValue ?? ""
        if !plural.isEmpty, !group.isEmpty, name != "\(plural).\(group)" {
            causes.append(.invalid("metadata.name", "\"\(name)\"", "must be spec.names.plural+\".\"+spec.group"))
        }
        let scope = spec["scope"]?.stringValue ?? ""
        if scope != "Namespaced" && scope != "Cluster" {
            causes.append(
                FieldCause(
                    type: "FieldValueNotSupported", field: "spec.scope",
                    message: "Unsupported value: \"\(scope)\": supported values: \"Cluster\", \"Namespaced\""))
        }
        let versions = spec["versions"]?.arrayValue ?? []
        if versions.isEmpty { causes.append(.required("spec.versions")) }
        if versions.filter({ $0["storage"]?.boolValue == true }).count != 1, !versions.isEmpty {
            causes.append(
                .invalid(
                    "spec.versions", "\(versions.count) versions",
                    "must have exactly one version marked as storage version"))
        }
        for (index, version) in versions.enumerated() {
            let field = "spec.versions[\(index)]"
            guard let versionName = version["name"]?.stringValue, Validation.isDNSLabel(versionName) else {
                causes.append(.required("\(field).name"))
                continue
            }
            if let schema = version.value(at: ["schema", "openAPIV3Schema"]) {
                do {
                    let parsed = try StructuralSchema(schema)
                    if parsed.type != "object" {
                        causes.append(
                            .invalid(
                                "\(field).schema.openAPIV3Schema.type", "\"\(parsed.type ?? "")\"",
                                "must be object at the root"))
                    }
                } catch {
                    causes.append(
                        FieldCause(
                            type: "FieldValueInvalid", field: "\(field).schema.openAPIV3Schema", message: error.problem)
                    )
                }
            } else {
                causes.append(
                    FieldCause(
                        type: "FieldValueRequired", field: "\(field).schema.openAPIV3Schema",
                        message: "Required value: schemas are required"))
            }
            for (columnIndex, column) in (version["additionalPrinterColumns"]?.arrayValue ?? []).enumerated() {
                let columnField = "\(field).additionalPrinterColumns[\(columnIndex)]"
                if column["name"]?.stringValue?.isEmpty ?? true { causes.append(.required("\(columnField).name")) }
                let type = column["type"]?.stringValue ?? ""
                if !["integer", "number", "string", "boolean", "date"].contains(type) {
                    causes.append(
                        FieldCause(
                            type: "FieldValueNotSupported", field: "\(columnField).type",
                            message:
                                "Unsupported value: \"\(type)\": supported values: \"boolean\", \"date\", "
                                + "\"integer\", \"number\", \"string\""
                        ))
                }
                do {
                    _ = try JSONPath(parsing: column["jsonPath"]?.stringValue ?? "")
                } catch {
                    causes.append(
                        .invalid(
                            "\(columnField).jsonPath", "\"\(column["jsonPath"]?.stringValue ?? "")\"", error.detail))
                }
            }
        }
        return causes
    }

    /// The resource types a stored CRD serves: one per served version, all sharing one
    /// storage (conversion strategy None: only apiVersion differs).
    static func resourceTypes(from crd: JSONValue) -> [ResourceType] {
        guard validate(crd).isEmpty, crd.value(at: ["metadata", "deletionTimestamp"]) == nil else { return [] }
        let spec = crd["spec"] ?? [:]
        let group = spec["group"]?.stringValue ?? ""
        let names = acceptedNames(crd)
        let versions = spec["versions"]?.arrayValue ?? []
        guard let storageVersion = versions.first(where: { $0["storage"]?.boolValue == true })?["name"]?.stringValue
        else { return [] }
        return versions.compactMap { version -> ResourceType? in
            guard version["served"]?.boolValue ?? true, let name = version["name"]?.stringValue else { return nil }
            var type = ResourceType(
                group: group, version: name, plural: names["plural"]?.stringValue ?? "",
                singular: names["singular"]?.stringValue ?? "", kind: names["kind"]?.stringValue ?? "",
                isNamespaced: spec["scope"]?.stringValue == "Namespaced"
            )
            type.listKind = names["listKind"]?.stringValue ?? type.kind + "List"
            type.shortNames = names["shortNames"]?.arrayValue?.compactMap(\.stringValue) ?? []
            type.categories = names["categories"]?.arrayValue?.compactMap(\.stringValue) ?? []
            type.isCustomResource = true
            type.tracksGeneration = true
            type.allowsUnconditionalUpdate = false
            type.view =
                name == storageVersion
                ? .identity : .apiVersion("\(group)/\(name)", stored: "\(group)/\(storageVersion)")
            let subresources = version["subresources"]
            type.hasStatusSubresource = subresources?["status"] != nil
            if let scale = subresources?["scale"] {
                func path(_ key: String) -> [String]? {
                    scale[key]?.stringValue.map { $0.split(separator: ".").map(String.init) }
                }
                if let spec = path("specReplicasPath"), let status = path("statusReplicasPath") {
                    type.scale = ScalePaths(
                        specReplicas: spec, statusReplicas: status, labelSelector: path("labelSelectorPath"))
                }
            }
            type.schema = version.value(at: ["schema", "openAPIV3Schema"]).flatMap { try? StructuralSchema($0) }
            type.schemaDocument = version.value(at: ["schema", "openAPIV3Schema"])
            type.selectableFields = (version["selectableFields"]?.arrayValue ?? []).compactMap {
                $0["jsonPath"]?.stringValue.map { String($0.drop { $0 == "." }) }
            }
            type.columns = (version["additionalPrinterColumns"]?.arrayValue ?? []).compactMap { column in
                guard let columnName = column["name"]?.stringValue, let columnType = column["type"]?.stringValue,
                    let path = column["jsonPath"]?.stringValue, let jsonPath = try? JSONPath(parsing: path)
                else { return nil }
                return TableColumn.path(
                    name: columnName, type: columnType, jsonPath: jsonPath,
                    format: column["format"]?.stringValue ?? "", description: column["description"]?.stringValue ?? "",
                    priority: column["priority"]?.intValue ?? 0
                )
            }
            return type
        }
    }
}
