import Foundation
import KubeCore

/// A CRD version's `openAPIV3Schema` as the API server uses it: prune unknown fields,
/// apply defaults, validate (types, required, enum, bounds, lengths, pattern)
/// (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema).
final class StructuralSchema: Sendable {
    let type: String?
    let properties: [String: StructuralSchema]
    let additionalProperties: StructuralSchema?
    let allowsAnyAdditional: Bool
    let items: StructuralSchema?
    let required: [String]
    let enumValues: [JSONValue]?
    let minimum: Double?
    let maximum: Double?
    let exclusiveMinimum: Bool
    let exclusiveMaximum: Bool
    let minLength: Int?
    let maxLength: Int?
    let minItems: Int?
    let maxItems: Int?
    let minProperties: Int?
    let maxProperties: Int?
    /// `int32` or `int64` for integers (kube-apiserver decodes integers as int64 either way).
    let format: String?
    let pattern: String?
    let regex: NSRegularExpression?
    let nullable: Bool
    let defaultValue: JSONValue?
    let preservesUnknownFields: Bool
    let isIntOrString: Bool
    let isEmbeddedResource: Bool
    /// `x-kubernetes-validations`: rules on this node's value, compiled when the CRD is written.
    let rules: [CELRule]

    struct Invalid: Error {
        var problem: String
    }

    init(_ json: JSONValue, path: String = "openAPIV3Schema") throws(Invalid) {
        guard case .object(let fields) = json else { throw Invalid(problem: "\(path): must be an object") }
        type = fields["type"]?.stringValue
        if let type, !["object", "array", "string", "integer", "number", "boolean"].contains(type) {
            throw Invalid(problem: "\(path).type: Unsupported value: \"\(type)\"")
        }
        var properties: [String: StructuralSchema] = [:]
        for (name, child) in fields["properties"]?.objectValue ?? [:] {
            properties[name] = try StructuralSchema(child, path: "\(path).properties[\(name)]")
        }
        self.properties = properties
        switch fields["additionalProperties"] {
        case .bool(let allowed)?:
            additionalProperties = nil
            allowsAnyAdditional = allowed
        case let schema?:
            additionalProperties = try StructuralSchema(schema, path: "\(path).additionalProperties")
            allowsAnyAdditional = false
        case nil:
            additionalProperties = nil
            allowsAnyAdditional = false
        }
        if let items = fields["items"] {
            self.items = try StructuralSchema(items, path: "\(path).items")
        } else {
            items = nil
            if type == "array" { throw Invalid(problem: "\(path).items: Required value: must be specified") }
        }
        required = fields["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        enumValues = fields["enum"]?.arrayValue
        func number(_ key: String) -> Double? {
            switch fields[key] {
            case .integer(let value)?: return Double(value)
            case .number(let value)?: return value
            default: return nil
            }
        }
        minimum = number("minimum")
        maximum = number("maximum")
        exclusiveMinimum = fields["exclusiveMinimum"]?.boolValue ?? false
        exclusiveMaximum = fields["exclusiveMaximum"]?.boolValue ?? false
        minLength = fields["minLength"]?.intValue
        maxLength = fields["maxLength"]?.intValue
        minItems = fields["minItems"]?.intValue
        maxItems = fields["maxItems"]?.intValue
        minProperties = fields["minProperties"]?.intValue
        maxProperties = fields["maxProperties"]?.intValue
        format = fields["format"]?.stringValue
        pattern = fields["pattern"]?.stringValue
        if let pattern {
            do {
                regex = try NSRegularExpression(pattern: pattern)
            } catch {
                throw Invalid(problem: "\(path).pattern: Invalid value: \"\(pattern)\": not a valid regular expression")
            }
        } else {
            regex = nil
        }
        nullable = fields["nullable"]?.boolValue ?? false
        defaultValue = fields["default"]
        preservesUnknownFields = fields["x-kubernetes-preserve-unknown-fields"]?.boolValue ?? false
        isIntOrString = fields["x-kubernetes-int-or-string"]?.boolValue ?? false
        isEmbeddedResource = fields["x-kubernetes-embedded-resource"]?.boolValue ?? false
        var rules: [CELRule] = []
        for (index, item) in (fields["x-kubernetes-validations"]?.arrayValue ?? []).enumerated() {
            guard let rule = item["rule"]?.stringValue else {
                throw Invalid(problem: "\(path).x-kubernetes-validations[\(index)].rule: Required value")
            }
            do throws(CELRule.CompileError) {
                rules.append(try CELRule(rule: rule, message: item["message"]?.stringValue))
            } catch {
                throw Invalid(
                    problem:
                        "\(path).x-kubernetes-validations[\(index)].rule: Invalid value: \"\(rule)\": compilation failed: \(error)"
                )
            }
        }
        self.rules = rules
        if self.type == nil, !preservesUnknownFields, !isIntOrString, path != "openAPIV3Schema" {
            throw Invalid(problem: "\(path).type: Required value: must not be empty for specified object fields")
        }
    }

    // MARK: Pruning

    /// Removes fields the schema does not know and returns their paths (for fieldValidation).
    /// At the root, apiVersion/kind/metadata are kept; metadata is ObjectMeta.
    func prune(_ value: inout JSONValue, path: String = "", isRoot: Bool = true) -> [String] {
        var unknown: [String] = []
        switch value {
        case .object(var fields):
            if preservesUnknownFields && properties.isEmpty && additionalProperties == nil { break }
            for key in fields.keys.sorted() {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if isRoot, key == "apiVersion" || key == "kind" { continue }
                if isRoot, key == "metadata" {
                    unknown += ObjectMetaFields.prune(&fields[key]!, path: childPath)
                    continue
                }
                if let schema = properties[key] {
                    unknown += schema.prune(&fields[key]!, path: childPath, isRoot: false)
                } else if let schema = additionalProperties {
                    unknown += schema.prune(&fields[key]!, path: childPath, isRoot: false)
                } else if !allowsAnyAdditional && !preservesUnknownFields {
                    fields[key] = nil
                    unknown.append(childPath)
                }
            }
            value = .object(fields)
        case .array(var items):
            guard let schema = self.items else { break }
            for index in items.indices {
                unknown += schema.prune(&items[index], path: "\(path)[\(index)]", isRoot: false)
            }
            value = .array(items)
        default:
            break
        }
        return unknown
    }

    // MARK: Defaulting

    func applyDefaults(_ value: inout JSONValue) {
        switch value {
        case .object(var fields):
            for (key, schema) in properties {
                if fields[key] == nil, let defaultValue = schema.defaultValue { fields[key] = defaultValue }
                if fields[key] != nil { schema.applyDefaults(&fields[key]!) }
            }
            if let additionalProperties {
                for key in fields.keys where properties[key] == nil {
                    additionalProperties.applyDefaults(&fields[key]!)
                }
            }
            value = .object(fields)
        case .array(var items):
            guard let schema = self.items else { break }
            for index in items.indices { schema.applyDefaults(&items[index]) }
            value = .array(items)
        default:
            break
        }
    }

    // MARK: Validation

    func validate(_ value: JSONValue, path: String = "", isRoot: Bool = true) -> [FieldCause] {
        let field = path.isEmpty ? "<root>" : path
        if case .null = value {
            return nullable || isRoot
                ? []
                : [
                    FieldCause(
                        type: "FieldValueTypeInvalid", field: field,
                        message:
                            "Invalid value: \"null\": \(field) in body must be of type \(type ?? "object"): \"null\"")
                ]
        }
        if let typeProblem = typeMismatch(value) {
            return [
                FieldCause(
                    type: "FieldValueTypeInvalid", field: field,
                    message:
                        "Invalid value: \"\(typeProblem)\": \(field) in body must be of type \(type ?? "object"): "
                        + "\"\(typeProblem)\""
                )
            ]
        }
        var causes: [FieldCause] = []
        if let enumValues, !enumValues.contains(value) {
            let supported = enumValues.map { String(decoding: $0.serialized(), as: UTF8.self) }.joined(separator: ", ")
            causes.append(
                FieldCause(
                    type: "FieldValueNotSupported", field: field,
                    message:
                        "Unsupported value: \(String(decoding: value.serialized(), as: UTF8.self)): supported values: "
                        + "\(supported)"
                ))
        }
        switch value {
        case .integer, .number:
            let number: Double = {
                if case .integer(let v) = value { return Double(v) }
                if case .number(let v) = value { return v }
                return 0
            }()
            let shown = String(decoding: value.serialized(), as: UTF8.self)
            if let minimum, exclusiveMinimum ? number <= minimum : number < minimum {
                causes.append(
                    .invalid(
                        field, shown,
                        "\(field) in body should be greater than "
                            + "\(exclusiveMinimum ? "" : "or equal to ")\(Self.format(minimum))"
                    ))
            }
            if let maximum, exclusiveMaximum ? number >= maximum : number > maximum {
                causes.append(
                    .invalid(
                        field, shown,
                        "\(field) in body should be less than "
                            + "\(exclusiveMaximum ? "" : "or equal to ")\(Self.format(maximum))"
                    ))
            }
        case .string(let text):
            if let minLength, text.count < minLength {
                causes.append(
                    .invalid(field, "\"\(text)\"", "\(field) in body should be at least \(minLength) chars long"))
            }
            if let maxLength, text.count > maxLength {
                causes.append(
                    FieldCause(
                        type: "FieldValueTooLong", field: field,
                        message: "Too long: may not be more than \(maxLength) bytes"))
            }
            if let regex, let pattern, regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                causes.append(.invalid(field, "\"\(text)\"", "\(field) in body should match '\(pattern)'"))
            }
        case .array(let elements):
            if let minItems, elements.count < minItems {
                causes.append(
                    .invalid(field, "\(elements.count)", "\(field) in body should have at least \(minItems) items"))
            }
            if let maxItems, elements.count > maxItems {
                causes.append(
                    FieldCause(
                        type: "FieldValueTooMany", field: field,
                        message: "Too many: \(elements.count): must have at most \(maxItems) items"))
            }
            if let items {
                for (index, element) in elements.enumerated() {
                    causes += items.validate(element, path: "\(path)[\(index)]", isRoot: false)
                }
            }
        case .object(let fields):
            if let minProperties, fields.count < minProperties {
                causes.append(
                    .invalid(
                        field, "\(fields.count)", "\(field) in body should have at least \(minProperties) properties"))
            }
            if let maxProperties, fields.count > maxProperties {
                causes.append(
                    FieldCause(
                        type: "FieldValueTooMany", field: field,
                        message: "Too many: \(fields.count): must have at most \(maxProperties) items"))
            }
            for name in required where fields[name] == nil {
                causes.append(.required(path.isEmpty ? name : "\(path).\(name)"))
            }
            for key in fields.keys.sorted() {
                if isRoot, key == "metadata" || key == "apiVersion" || key == "kind" { continue }
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if let schema = properties[key] {
                    causes += schema.validate(fields[key]!, path: childPath, isRoot: false)
                } else if let additionalProperties {
                    causes += additionalProperties.validate(fields[key]!, path: childPath, isRoot: false)
                }
            }
        default:
            break
        }
        // Rules between fields run on a value whose fields are each valid (a rule comparing a
        // string with a number would only repeat the type error).
        guard causes.isEmpty else { return causes }
        for rule in rules {
            switch rule.evaluate(value) {
            case .success(true): break
            case .success(false): causes.append(.invalid(field, "\"object\"", rule.message))
            case .failure(let error): causes.append(.invalid(field, "\"object\"", "rule \(rule.source): \(error)"))
            }
        }
        return causes
    }

    private func typeMismatch(_ value: JSONValue) -> String? {
        if isIntOrString {
            switch value {
            case .integer, .string: return nil
            default: return Self.kindName(value)
            }
        }
        guard let type else { return nil }
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool),
            ("integer", .integer), ("number", .integer), ("number", .number):
            return nil
        case ("integer", .integer(let value)) where format == "int32" && Int32(exactly: value) == nil:
            return "integer"
        case ("integer", .number(let number))
        where format == "int32" ? Int32(exactly: number) != nil : Int64(exactly: number) != nil:
            // A whole number within the integer's range (`3.0`); 1e23 is not an int64.
            return nil
        default:
            return Self.kindName(value)
        }
    }

    private static func kindName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer: return "integer"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}

/// ObjectMeta's fields, for pruning and strict validation of `metadata`.
enum ObjectMetaFields {
    static let known: Set<String> = [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
        "ownerReferences", "finalizers", "managedFields",
    ]

    static func prune(_ metadata: inout JSONValue, path: String) -> [String] {
        guard case .object(var fields) = metadata else { return [] }
        var unknown: [String] = []
        for key in fields.keys.sorted() where !known.contains(key) {
            fields[key] = nil
            unknown.append("\(path).\(key)")
        }
        metadata = .object(fields)
        return unknown
    }
}
