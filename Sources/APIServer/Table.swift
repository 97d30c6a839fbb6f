import Foundation
import KubeCore

/// One column of a meta.k8s.io/v1 Table (what `kubectl get` prints).
struct TableColumn: Sendable {
    var name: String
    var type: String
    var format: String = ""
    var description: String = ""
    var priority: Int = 0
    var cell: @Sendable (JSONValue, Date) -> JSONValue

    var definition: JSONValue {
        .object([
            "name": .string(name), "type": .string(type), "format": .string(format),
            "description": .string(description), "priority": .integer(Int64(priority)),
        ])
    }

    static let age = TableColumn(
        name: "Age", type: "date",
        description: "CreationTimestamp is a timestamp representing the server time when this object was created."
    ) { object, now in
        ageCell(object.value(at: ["metadata", "creationTimestamp"]), now: now)
    }

    /// A column read through a JSONPath, typed as apiextensions' `cellForJSONValue` does:
    /// a value of the wrong type prints as nothing; dates print as a human age.
    static func path(
        name: String, type: String, jsonPath: JSONPath, format: String = "", description: String = "", priority: Int = 0
    ) -> TableColumn {
        TableColumn(name: name, type: type, format: format, description: description, priority: priority) {
            object, now in
            let values = jsonPath.evaluate(object)
            guard let first = values.first else { return .null }
            switch type {
            case "integer": return first.intValue.map { .integer(Int64($0)) } ?? .null
            case "number":
                if case .number = first { return first }
                return first.intValue.map { .integer(Int64($0)) } ?? .null
            case "boolean":
                if case .bool = first { return first }
                return .null
            case "date": return ageCell(first, now: now)
            default: return .string(values.map(Self.text).joined(separator: ","))
            }
        }
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .array, .object: return String(decoding: value.serialized(), as: UTF8.self)
        case .null: return "<none>"
        default: return FieldSelector.text(value)
        }
    }

    static func ageCell(_ timestamp: JSONValue?, now: Date) -> JSONValue {
        guard let text = timestamp?.stringValue, let date = Timestamps.parse(text) else { return .string("<unknown>") }
        return .string(humanDuration(now.timeIntervalSince(date)))
    }

    /// apimachinery's `duration.HumanDuration`: "45s", "5m3s", "17m", "3h4m", "2d5h", "400d", "2y30d".
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval.rounded(.down))
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 { return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h" }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        let days = hours / 24
        if hours < 24 * 365 * 8 { return days % 365 == 0 ? "\(days / 365)y" : "\(days / 365)y\(days % 365)d" }
        return "\(days / 365)y"
    }
}

/// Builds Table responses (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`).
enum TableRenderer {
    static func nameColumn(_ type: ResourceType) -> TableColumn {
        TableColumn(
            name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace."
        ) { object, _ in
            object.value(at: ["metadata", "name"]) ?? .string("")
        }
    }

    static func columns(for type: ResourceType) -> [TableColumn] {
        [nameColumn(type)] + (type.columns.isEmpty ? [TableColumn.age] : type.columns)
    }

    /// `includeObject=Metadata` (kubectl's default) puts PartialObjectMetadata in each row,
    /// which `-A` needs for its NAMESPACE column.
    static func table(
        for type: ResourceType, objects: [JSONValue], resourceVersion: String, continueToken: String?,
        includeHeaders: Bool, includeObject: String, now: Date
    ) -> JSONValue {
        let columns = columns(for: type)
        var metadata: [String: JSONValue] = ["resourceVersion": .string(resourceVersion)]
        if let continueToken { metadata["continue"] = .string(continueToken) }
        let rows: [JSONValue] = objects.map { object in
            var row: [String: JSONValue] = ["cells": .array(columns.map { $0.cell(object, now) })]
            switch includeObject {
            case "None": break
            case "Object": row["object"] = object
            default:
                row["object"] = .object([
                    "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": object["metadata"] ?? .object([:]),
                ])
            }
            return .object(row)
        }
        return .object([
            "kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": .object(metadata),
            "columnDefinitions": includeHeaders ? .array(columns.map(\.definition)) : .null,
            "rows": .array(rows),
        ])
    }
}
