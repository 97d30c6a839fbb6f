import Foundation
import KubeCore

/// A subset of CEL (https://kubernetes.io/docs/reference/using-api/cel/) for CRD
/// `x-kubernetes-validations` rules: `self` and field selection, `has(…)`, `size(…)`,
/// literals (integers, doubles, strings, booleans, null), comparison, `!`, `&&`, `||`,
/// parentheses. Enough for rules between fields such as `self.minCapacity <= self.maxCapacity`;
/// a rule outside the subset is refused when the CRD is written, as kube-apiserver refuses a
/// rule that does not compile. Parsing is recursive descent with a depth limit.
struct CELRule: Sendable {
    let source: String
    let message: String
    private let root: Node

    struct CompileError: Error, CustomStringConvertible {
        var description: String
    }

    indirect enum Node: Sendable {
        case literal(JSONValue)
        case path([String])
        case has([String])
        case size(Node)
        case not(Node)
        case and(Node, Node)
        case or(Node, Node)
        case compare(String, Node, Node)
    }

    init(rule: String, message: String?) throws(CompileError) {
        guard rule.utf8.count <= 4096 else { throw CompileError(description: "rule longer than 4096 bytes") }
        source = rule
        self.message = message ?? "failed rule: \(rule)"
        var parser = Parser(tokens: try Self.tokens(rule))
        root = try parser.expression(depth: 0)
        guard parser.index == parser.tokens.count else {
            throw CompileError(description: "unexpected '\(parser.tokens[parser.index])'")
        }
    }

    /// true, false, or an error for a rule that cannot be evaluated on `value`.
    func evaluate(_ value: JSONValue) -> Result<Bool, CompileError> {
        do {
            guard case .bool(let result) = try Self.evaluate(root, self: value) else {
                return .failure(CompileError(description: "rule does not evaluate to a boolean"))
            }
            return .success(result)
        } catch {
            return .failure(error)
        }
    }

    private static func evaluate(_ node: Node, self value: JSONValue) throws(CompileError) -> JSONValue {
        switch node {
        case .literal(let literal):
            return literal
        case .path(let path):
            var current = value
            for key in path {
                guard let next = current[key] else { throw CompileError(description: "no such key: \(key)") }
                current = next
            }
            return current
        case .has(let path):
            var current = value
            for key in path {
                guard let next = current[key], next != .null else { return .bool(false) }
                current = next
            }
            return .bool(true)
        case .size(let inner):
            switch try evaluate(inner, self: value) {
            case .string(let text): return .integer(Int64(text.count))
            case .array(let items): return .integer(Int64(items.count))
            case .object(let fields): return .integer(Int64(fields.count))
            default: throw CompileError(description: "size() of a value without a size")
            }
        case .not(let inner):
            guard case .bool(let flag) = try evaluate(inner, self: value) else {
                throw CompileError(description: "! of a non-boolean")
            }
            return .bool(!flag)
        case .and(let left, let right):
            guard case .bool(let a) = try evaluate(left, self: value) else {
                throw CompileError(description: "&& of a non-boolean")
            }
            guard a else { return .bool(false) }
            return try evaluate(right, self: value)
        case .or(let left, let right):
            guard case .bool(let a) = try evaluate(left, self: value) else {
                throw CompileError(description: "|| of a non-boolean")
            }
            guard !a else { return .bool(true) }
            return try evaluate(right, self: value)
        case .compare(let op, let left, let right):
            let a = try evaluate(left, self: value)
            let b = try evaluate(right, self: value)
            if op == "==" { return .bool(equal(a, b)) }
            if op == "!=" { return .bool(!equal(a, b)) }
            let order: Int
            if let x = a.doubleValue, let y = b.doubleValue {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else if case .string(let x) = a, case .string(let y) = b {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else {
                throw CompileError(description: "cannot order these values")
            }
            switch op {
            case "<": return .bool(order < 0)
            case "<=": return .bool(order <= 0)
            case ">": return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        }
    }

    private static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }

    // MARK: Parsing

    private static func tokens(_ text: String) throws(CompileError) -> [String] {
        var tokens: [String] = []
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
            } else if character == "'" || character == "\"" {
                var end = index + 1
                while end < characters.count, characters[end] != character { end += characters[end] == "\\" ? 2 : 1 }
                guard end < characters.count else { throw CompileError(description: "unterminated string") }
                tokens.append(String(characters[index...end]))
                index = end + 1
            } else if character.isLetter || character == "_" {
                var end = index
                while end < characters.count,
                    characters[end].isLetter || characters[end].isNumber || characters[end] == "_"
                { end += 1 }
                tokens.append(String(characters[index..<end]))
                index = end
            } else if character.isNumber {
                var end = index
                while end < characters.count,
                    characters[end].isNumber || characters[end] == "." || characters[end] == "e"
                { end += 1 }
                tokens.append(String(characters[index..<end]))
                index = end
            } else {
                let two = index + 1 < characters.count ? String(characters[index...index + 1]) : ""
                if ["&&", "||", "==", "!=", "<=", ">="].contains(two) {
                    tokens.append(two)
                    index += 2
                } else if "!<>().".contains(character) {
                    tokens.append(String(character))
                    index += 1
                } else {
                    throw CompileError(description: "unsupported character '\(character)'")
                }
            }
            guard tokens.count <= 1000 else { throw CompileError(description: "rule too long") }
        }
        return tokens
    }

    private struct Parser {
        let tokens: [String]
        var index = 0

        var peek: String? { index < tokens.count ? tokens[index] : nil }

        mutating func take(_ expected: String) throws(CompileError) {
            guard peek == expected else { throw CompileError(description: "expected '\(expected)'") }
            index += 1
        }

        mutating func expression(depth: Int) throws(CompileError) -> Node {
            guard depth < 64 else { throw CompileError(description: "rule nested too deeply") }
            var left = try conjunction(depth: depth)
            while peek == "||" {
                index += 1
                left = .or(left, try conjunction(depth: depth))
            }
            return left
        }

        mutating func conjunction(depth: Int) throws(CompileError) -> Node {
            var left = try unary(depth: depth)
            while peek == "&&" {
                index += 1
                left = .and(left, try unary(depth: depth))
            }
            return left
        }

        mutating func unary(depth: Int) throws(CompileError) -> Node {
            if peek == "!" {
                index += 1
                guard depth < 64 else { throw CompileError(description: "rule nested too deeply") }
                return .not(try unary(depth: depth + 1))
            }
            let left = try primary(depth: depth)
            if let op = peek, ["==", "!=", "<", "<=", ">", ">="].contains(op) {
                index += 1
                return .compare(op, left, try primary(depth: depth))
            }
            return left
        }

        mutating func primary(depth: Int) throws(CompileError) -> Node {
            guard let token = peek else { throw CompileError(description: "unexpected end of rule") }
            index += 1
            switch token {
            case "(":
                let inner = try expression(depth: depth + 1)
                try take(")")
                return inner
            case "self":
                return .path(try selection())
            case "has":
                try take("(")
                try take("self")
                let path = try selection()
                guard !path.isEmpty else { throw CompileError(description: "has() needs a field") }
                try take(")")
                return .has(path)
            case "size":
                try take("(")
                let inner = try expression(depth: depth + 1)
                try take(")")
                return .size(inner)
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default:
                if let first = token.first, first == "'" || first == "\"" {
                    return .literal(.string(String(token.dropFirst().dropLast())))
                }
                if let integer = Int64(token) { return .literal(.integer(integer)) }
                if let number = Double(token), number.isFinite { return .literal(.number(number)) }
                throw CompileError(description: "unsupported '\(token)' (this server evaluates a subset of CEL)")
            }
        }

        mutating func selection() throws(CompileError) -> [String] {
            var path: [String] = []
            while peek == "." {
                index += 1
                guard let name = peek, name.first.map({ $0.isLetter || $0 == "_" }) == true else {
                    throw CompileError(description: "expected a field name")
                }
                index += 1
                path.append(name)
            }
            return path
        }
    }
}
