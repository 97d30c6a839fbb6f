import Foundation
import KubeCore

/// The built-in kinds the embedded server stores (no controllers run behind them: a
/// Deployment is stored and scalable but gets no pods, a Job is never executed).
enum BuiltinResources {
    static func all() -> [ResourceType] {
        [
            namespaces, configMaps, secrets, coreEvents, events, leases, deployments, jobs, cronJobs,
            CustomResourceDefinitions.resourceType,
        ] + clusterKinds
    }

    static func path(_ name: String, _ type: String, _ path: String, priority: Int = 0) -> TableColumn {
        // The paths below are literals known to parse.
        TableColumn.path(name: name, type: type, jsonPath: try! JSONPath(parsing: path), priority: priority)
    }

    static let namespaces: ResourceType = {
        var type = ResourceType(
            group: "", version: "v1", plural: "namespaces", singular: "namespace", kind: "Namespace",
            isNamespaced: false)
        type.shortNames = ["ns"]
        type.verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        type.hasStatusSubresource = true
        type.selectableFields = ["status.phase"]
        type.columns = [path("Status", "string", ".status.phase"), .age]
        type.admit = { object in
            if object.value(at: ["status", "phase"]) == nil { object.setValue("Active", at: ["status", "phase"]) }
            return Validation.dnsLabel(
                object.value(at: ["metadata", "name"])?.stringValue ?? "", field: "metadata.name")
        }
        return type
    }()

    static let configMaps: ResourceType = {
        var type = ResourceType(
            group: "", version: "v1", plural: "configmaps", singular: "configmap", kind: "ConfigMap", isNamespaced: true
        )
        type.shortNames = ["cm"]
        type.columns = [
            TableColumn(name: "Data", type: "integer", description: "Number of data entries") { object, _ in
                .integer(
                    Int64((object["data"]?.objectValue?.count ?? 0) + (object["binaryData"]?.objectValue?.count ?? 0)))
            },
            .age,
        ]
        type.admit = { object in
            var causes: [FieldCause] = []
            causes += Validation.stringMap(object["data"], field: "data", base64: false)
            causes += Validation.stringMap(object["binaryData"], field: "binaryData", base64: true)
            return causes
        }
        return type
    }()

    static let secrets: ResourceType = {
        var type = ResourceType(
            group: "", version: "v1", plural: "secrets", singular: "secret", kind: "Secret", isNamespaced: true)
        type.selectableFields = ["type"]
        type.columns = [
            path("Type", "string", ".type"),
            TableColumn(name: "Data", type: "integer", description: "Number of data entries") { object, _ in
                .integer(Int64(object["data"]?.objectValue?.count ?? 0))
            },
            .age,
        ]
        type.admit = { object in
            if object["type"] == nil { object["type"] = "Opaque" }
            if let type = object["type"], type.stringValue == nil {
                return [.invalid("type", FieldSelector.text(type), "must be a string")]
            }
            let causes =
                Validation.stringMap(object["data"], field: "data", base64: true)
                + Validation.stringMap(object["stringData"], field: "stringData", base64: false)
            guard causes.isEmpty else { return causes }
            // stringData is write-only: merged into data (base64) and never stored.
            if let strings = object["stringData"]?.objectValue {
                var data = object["data"]?.objectValue ?? [:]
                for (key, value) in strings {
                    data[key] = .string(Data((value.stringValue ?? "").utf8).base64EncodedString())
                }
                object["data"] = .object(data)
                object["stringData"] = nil
            }
            return []
        }
        return type
    }()

    static let eventFields = [
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type",
    ]

    static let coreEvents: ResourceType = {
        var type = ResourceType(
            group: "", version: "v1", plural: "events", singular: "event", kind: "Event", isNamespaced: true,
            storageKey: "core/events")
        type.shortNames = ["ev"]
        type.selectableFields = eventFields
        type.view = EventViews.coreV1
        type.columns = EventViews.columns
        return type
    }()

    static let events: ResourceType = {
        var type = ResourceType(
            group: "events.k8s.io", version: "v1", plural: "events", singular: "event", kind: "Event",
            isNamespaced: true, storageKey: "core/events")
        type.shortNames = ["ev"]
        type.selectableFields = eventFields
        type.view = EventViews.eventsV1
        type.columns = EventViews.columns
        type.admit = EventViews.validateEventsV1
        return type
    }()

    static let leases: ResourceType = {
        var type = ResourceType(
            group: "coordination.k8s.io", version: "v1", plural: "leases", singular: "lease", kind: "Lease",
            isNamespaced: true)
        type.columns = [path("Holder", "string", ".spec.holderIdentity"), .age]
        type.admit = { object in
            if let duration = object.value(at: ["spec", "leaseDurationSeconds"])?.intValue, duration <= 0 {
                return [.invalid("spec.leaseDurationSeconds", "\(duration)", "must be greater than 0")]
            }
            return []
        }
        return type
    }()

    static let deployments: ResourceType = {
        var type = ResourceType(
            group: "apps", version: "v1", plural: "deployments", singular: "deployment", kind: "Deployment",
            isNamespaced: true)
        type.shortNames = ["deploy"]
        type.categories = ["all"]
        type.hasStatusSubresource = true
        type.tracksGeneration = true
        type.scale = ScalePaths(
            specReplicas: ["spec", "replicas"], statusReplicas: ["status", "replicas"], labelSelector: nil)
        type.columns = [
            TableColumn(name: "Ready", type: "string", description: "Number of the pod with ready state") { object, _ in
                .string(
                    "\(object.value(at: ["status", "readyReplicas"])?.intValue ?? 0)/"
                        + "\(object.value(at: ["spec", "replicas"])?.intValue ?? 0)"
                )
            },
            path("Up-to-date", "integer", ".status.updatedReplicas"),
            path("Available", "integer", ".status.availableReplicas"),
            .age,
        ]
        type.admit = { object in
            if object.value(at: ["spec", "replicas"]) == nil { object.setValue(1, at: ["spec", "replicas"]) }
            if object.value(at: ["spec", "revisionHistoryLimit"]) == nil {
                object.setValue(10, at: ["spec", "revisionHistoryLimit"])
            }
            if object.value(at: ["spec", "progressDeadlineSeconds"]) == nil {
                object.setValue(600, at: ["spec", "progressDeadlineSeconds"])
            }
            var causes: [FieldCause] = []
            if object.value(at: ["spec", "selector"]) == nil { causes.append(.required("spec.selector")) }
            if object.value(at: ["spec", "template"]) == nil { causes.append(.required("spec.template")) }
            if let replicas = object.value(at: ["spec", "replicas"])?.intValue, replicas < 0 {
                causes.append(.invalid("spec.replicas", "\(replicas)", "must be greater than or equal to 0"))
            }
            return causes
        }
        return type
    }()

    static let jobs: ResourceType = {
        var type = ResourceType(
            group: "batch", version: "v1", plural: "jobs", singular: "job", kind: "Job", isNamespaced: true)
        type.categories = ["all"]
        type.hasStatusSubresource = true
        type.tracksGeneration = true
        type.selectableFields = ["status.successful"]
        type.columns = [
            TableColumn(
                name: "Completions", type: "string",
                description: "The desired number of successfully finished pods the job should be run with."
            ) { object, _ in
                .string(
                    "\(object.value(at: ["status", "succeeded"])?.intValue ?? 0)/"
                        + "\(object.value(at: ["spec", "completions"])?.intValue ?? 1)"
                )
            },
            .age,
        ]
        type.admit = { object in
            object.value(at: ["spec", "template"]) == nil ? [.required("spec.template")] : []
        }
        return type
    }()

    static let cronJobs: ResourceType = {
        var type = ResourceType(
            group: "batch", version: "v1", plural: "cronjobs", singular: "cronjob", kind: "CronJob", isNamespaced: true)
        type.shortNames = ["cj"]
        type.categories = ["all"]
        type.hasStatusSubresource = true
        type.tracksGeneration = true
        type.columns = [
            path("Schedule", "string", ".spec.schedule"),
            path("Suspend", "boolean", ".spec.suspend"),
            TableColumn(name: "Active", type: "integer", description: "Number of currently running jobs") { object, _ in
                .integer(Int64(object.value(at: ["status", "active"])?.arrayValue?.count ?? 0))
            },
            path("Last Schedule", "date", ".status.lastScheduleTime"),
            .age,
        ]
        type.admit = { object in
            var causes: [FieldCause] = []
            if object.value(at: ["spec", "schedule"])?.stringValue?.isEmpty ?? true {
                causes.append(.required("spec.schedule"))
            }
            if object.value(at: ["spec", "jobTemplate"]) == nil { causes.append(.required("spec.jobTemplate")) }
            if object.value(at: ["spec", "suspend"]) == nil { object.setValue(false, at: ["spec", "suspend"]) }
            return causes
        }
        return type
    }()
}

/// Name and key rules from apimachinery's validation package.
enum Validation {
    static func isDNSLabel(_ name: String) -> Bool { ObjectNames.isDNSLabel(name) }
    static func isDNSSubdomain(_ name: String) -> Bool { ObjectNames.isDNSSubdomain(name) }

    static func dnsLabel(_ name: String, field: String) -> [FieldCause] {
        isDNSLabel(name)
            ? []
            : [
                .invalid(
                    field, "\"\(name)\"",
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                        + "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                        + "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                )
            ]
    }

    static func dnsSubdomain(_ name: String, field: String) -> [FieldCause] {
        isDNSSubdomain(name)
            ? []
            : [
                .invalid(
                    field, "\"\(name)\"",
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                        + "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                        + "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                )
            ]
    }

    static func isConfigKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 253 && key != "." && key != ".."
            && key.utf8.allSatisfy { byte in
                (97...122).contains(byte) || (65...90).contains(byte) || (48...57).contains(byte) || byte == 45
                    || byte == 95 || byte == 46
            }
    }

    /// A ConfigMap's or Secret's `data`-like map: an object of config keys to strings
    /// (base64 when `base64`), as the typed fields of kube-apiserver decode it.
    static func stringMap(_ value: JSONValue?, field: String, base64: Bool) -> [FieldCause] {
        guard let value, value != .null else { return [] }
        guard let fields = value.objectValue else {
            return [.invalid(field, FieldSelector.text(value), "must be an object of strings")]
        }
        var causes: [FieldCause] = []
        for key in fields.keys.sorted() {
            if !isConfigKey(key) {
                causes.append(
                    .invalid(
                        field, "\"\(key)\"",
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"))
            }
            guard let text = fields[key]!.stringValue else {
                causes.append(
                    .invalid(
                        "\(field)[\(key)]", String(decoding: fields[key]!.serialized().prefix(64), as: UTF8.self),
                        "must be a string"))
                continue
            }
            if base64, Data(base64Encoded: text) == nil {
                causes.append(.invalid("\(field)[\(key)]", "<value>", "must be base64-encoded"))
            }
        }
        return causes
    }
}
