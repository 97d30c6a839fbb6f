import Foundation

/// A field selector (`?fieldSelector=`): comma-separated `path=value`, `path==value` or
/// `path!=value` over dotted object paths such as `metadata.name` or
/// `involvedObject.name`. A missing field compares as the empty string, as the API server does.
public struct FieldSelector: Sendable, Equatable {
    public enum Requirement: Sendable, Equatable {
        case equals([String], String)
        case notEquals([String], String)
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var selector: String
        public var description: String {
            "invalid field selector '\(selector)': expected path=value, path==value or path!=value"
        }
    }

    public var requirements: [Requirement]

    public init(parsing text: String) throws(ParseError) {
        var requirements: [Requirement] = []
        for part in text.split(separator: ",") {
            let item = String(part)
            let (op, negated): (String, Bool) =
                item.contains("!=") ? ("!=", true) : item.contains("==") ? ("==", false) : ("=", false)
            guard let range = item.range(of: op) else { throw ParseError(selector: text) }
            let path = item[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let value = item[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty, !path.contains(" ") else { throw ParseError(selector: text) }
            let keys = path.split(separator: ".").map(String.init)
            requirements.append(negated ? .notEquals(keys, value) : .equals(keys, value))
        }
        self.requirements = requirements
    }

    public func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let path, let value): return Self.text(object.value(at: path)) == value
            case .notEquals(let path, let value): return Self.text(object.value(at: path)) != value
            }
        }
    }

    /// Field values compare as their string form (`spec.replicas=3`, `spec.suspend=true`).
    public static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: return text
        case .integer(let number)?: return String(number)
        case .number(let number)?: return String(number)
        case .bool(let flag)?: return flag ? "true" : "false"
        default: return ""
        }
    }
}
