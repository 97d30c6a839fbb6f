import Foundation
import KubeCore

/// core/v1 Event and events.k8s.io/v1 Event are one stored set seen through two versions
/// (k8s.io/kubernetes pkg/apis/events/v1 conversion). Stored form: core/v1.
enum EventViews {
    /// events.k8s.io/v1 field ↔ core/v1 field.
    private static let renames: [(String, String)] = [
        ("regarding", "involvedObject"), ("note", "message"), ("reportingController", "reportingComponent"),
        ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count"),
    ]

    static let eventsV1 = ObjectView(
        toStored: { object in
            var fields = object.objectValue ?? [:]
            for (v1, core) in renames {
                fields[core] = fields.removeValue(forKey: v1)
            }
            fields["apiVersion"] = "v1"
            return .object(fields)
        },
        fromStored: { object in
            var fields = object.objectValue ?? [:]
            for (v1, core) in renames {
                fields[v1] = fields.removeValue(forKey: core)
            }
            fields["apiVersion"] = "events.k8s.io/v1"
            return .object(fields)
        }
    )

    /// core/v1 as kube-apiserver shows an Event written through events.k8s.io/v1: the
    /// deprecated fields every kubectl habit reads (`--sort-by=.lastTimestamp`, COUNT) are
    /// filled from eventTime and series when the writer left them out.
    static let coreV1 = ObjectView(
        toStored: { $0 },
        fromStored: { object in
            guard let eventTime = object["eventTime"]?.stringValue.flatMap(Timestamps.parse) else { return object }
            var fields = object.objectValue ?? [:]
            let last = object.value(at: ["series", "lastObservedTime"])?.stringValue.flatMap(Timestamps.parse)
            if fields["firstTimestamp"] == nil || fields["firstTimestamp"] == .null {
                fields["firstTimestamp"] = .string(Timestamps.format(eventTime))
            }
            if fields["lastTimestamp"] == nil || fields["lastTimestamp"] == .null {
                fields["lastTimestamp"] = .string(Timestamps.format(last ?? eventTime))
            }
            if fields["count"] == nil || fields["count"] == .null {
                fields["count"] = .integer(Int64(object.value(at: ["series", "count"])?.intValue ?? 1))
            }
            return .object(fields)
        }
    )

    /// Required fields of an events.k8s.io/v1 Event
    /// (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/).
    static let validateEventsV1: @Sendable (inout JSONValue) -> [FieldCause] = { object in
        var causes: [FieldCause] = []
        for field in ["eventTime", "reportingController", "reportingInstance", "action", "reason"]
        where object[field]?.stringValue?.isEmpty ?? true {
            causes.append(.required(field))
        }
        if let type = object["type"]?.stringValue, type != "Normal", type != "Warning" {
            causes.append(
                FieldCause(
                    type: "FieldValueNotSupported", field: "type",
                    message: "Unsupported value: \"\(type)\": supported values: \"Normal\", \"Warning\""))
        }
        return causes
    }

    /// kubectl get events: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.
    static let columns: [TableColumn] = [
        TableColumn(name: "Last Seen", type: "string", description: "Time of the last occurrence") { object, now in
            let last =
                object["lastTimestamp"] ?? object["deprecatedLastTimestamp"] ?? object.value(at: [
                    "series", "lastObservedTime",
                ]) ?? object["eventTime"]
            return TableColumn.ageCell(last, now: now)
        },
        TableColumn(name: "Type", type: "string") { object, _ in object["type"] ?? "" },
        TableColumn(name: "Reason", type: "string") { object, _ in object["reason"] ?? "" },
        TableColumn(name: "Object", type: "string") { object, _ in
            let reference = object["involvedObject"] ?? object["regarding"]
            let kind = reference?["kind"]?.stringValue?.lowercased() ?? ""
            return .string("\(kind)/\(reference?["name"]?.stringValue ?? "")")
        },
        TableColumn(name: "Message", type: "string") { object, _ in object["message"] ?? object["note"] ?? "" },
    ]
}
