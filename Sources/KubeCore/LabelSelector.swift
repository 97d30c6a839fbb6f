import Foundation

/// A Kubernetes label selector in its string form (`?labelSelector=`): comma-separated
/// requirements, each `key=value`, `key==value`, `key!=value`, `key in (a,b)`,
/// `key notin (a,b)`, `key` (exists) or `!key` (does not exist). All must match.
/// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
public struct LabelSelector: Sendable, Equatable {
    public enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)

        func matches(_ labels: [String: String]) -> Bool {
            switch self {
            case .equals(let key, let value): return labels[key] == value
            case .notEquals(let key, let value): return labels[key] != value
            case .isIn(let key, let values): return labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): return labels[key].map { !values.contains($0) } ?? true
            case .exists(let key): return labels[key] != nil
            case .doesNotExist(let key): return labels[key] == nil
            }
        }
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var selector: String
        public var detail: String
        public var description: String { "invalid label selector '\(selector)': \(detail)" }
    }

    public var requirements: [Requirement]

    public init(requirements: [Requirement]) {
        self.requirements = requirements
    }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(labels) }
    }

    public init(parsing text: String) throws(ParseError) {
        var requirements: [Requirement] = []
        for part in Self.splitTopLevel(text) {
            let item = part.trimmingCharacters(in: .whitespaces)
            if item.isEmpty { continue }
            requirements.append(try Self.parseRequirement(item, selector: text))
        }
        self.requirements = requirements
    }

    /// Splits on commas outside parentheses.
    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == "," && depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func parseRequirement(_ item: String, selector: String) throws(ParseError) -> Requirement {
        func fail(_ detail: String) -> ParseError { ParseError(selector: selector, detail: detail) }
        if item.hasPrefix("!") {
            let key = item.dropFirst().trimmingCharacters(in: .whitespaces)
            guard isValidKey(key) else { throw fail("bad key '\(key)'") }
            return .doesNotExist(key)
        }
        for (op, make) in [("!=", Requirement.notEquals), ("==", Requirement.equals), ("=", Requirement.equals)]
            as [(String, (String, String) -> Requirement)]
        {
            if let range = item.range(of: op) {
                let key = item[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let value = item[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard isValidKey(key) else { throw fail("bad key '\(key)'") }
                guard isValidValue(value) else { throw fail("bad value '\(value)'") }
                return make(key, value)
            }
        }
        let words = item.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
        if words.count == 1 {
            guard isValidKey(words[0]) else { throw fail("bad key '\(words[0])'") }
            return .exists(words[0])
        }
        if words.count == 3 || (words.count == 2 && words[1].contains("(")) {
            let key = words[0]
            let rest = words.dropFirst().joined(separator: " ")
            let (op, list): (String, String)
            if rest.hasPrefix("notin") {
                (op, list) = ("notin", String(rest.dropFirst(5)))
            } else if rest.hasPrefix("in") {
                (op, list) = ("in", String(rest.dropFirst(2)))
            } else {
                throw fail("unknown operator in '\(item)'")
            }
            let trimmed = list.trimmingCharacters(in: .whitespaces)
            guard isValidKey(key), trimmed.hasPrefix("("), trimmed.hasSuffix(")") else {
                throw fail("expected '\(key) \(op) (values)'")
            }
            let values = Set(
                trimmed.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            guard !values.isEmpty, values.allSatisfy(isValidValue) else { throw fail("bad values in '\(item)'") }
            return op == "in" ? .isIn(key, values) : .notIn(key, values)
        }
        throw fail("cannot parse '\(item)'")
    }

    /// `[prefix/]name`: name ≤ 63 characters of alphanumerics, '-', '_', '.', starting and
    /// ending alphanumeric; prefix a DNS subdomain.
    public static func isValidKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.last, isValidName(name) else { return false }
        if parts.count == 2 {
            let prefix = parts[0]
            return !prefix.isEmpty && prefix.count <= 253
                && prefix.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        }
        return true
    }

    public static func isValidValue(_ value: String) -> Bool {
        value.isEmpty || isValidName(Substring(value))
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard !name.isEmpty, name.count <= 63, let first = name.first, let last = name.last,
            first.isASCII && (first.isLetter || first.isNumber), last.isASCII && (last.isLetter || last.isNumber)
        else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }
}
