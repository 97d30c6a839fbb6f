import KubeCore

/// The subset of Kubernetes JSONPath that printer columns use: `.a.b`, `['a']`, `[2]`,
/// `[*]` and filters `[?(@.type=="Ready")]` (https://kubernetes.io/docs/reference/kubectl/jsonpath/).
struct JSONPath: Sendable, Equatable {
    enum Step: Sendable, Equatable {
        case key(String)
        case index(Int)
        case wildcard
        case filter(path: [String], equals: String)
    }

    struct ParseError: Error, CustomStringConvertible {
        var expression: String
        var detail: String
        var description: String { "invalid JSONPath \(expression): \(detail)" }
    }

    var steps: [Step]

    init(parsing expression: String) throws(ParseError) {
        var text = Substring(expression.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("{"), text.hasSuffix("}") { text = text.dropFirst().dropLast() }
        if text.hasPrefix("$") { text = text.dropFirst() }
        var steps: [Step] = []
        while let first = text.first {
            if first == "." {
                text = text.dropFirst()
                let key = text.prefix { $0 != "." && $0 != "[" }
                guard !key.isEmpty else { throw ParseError(expression: expression, detail: "empty key") }
                steps.append(.key(String(key)))
                text = text.dropFirst(key.count)
            } else if first == "[" {
                guard let close = Self.closingBracket(in: text) else {
                    throw ParseError(expression: expression, detail: "unclosed [")
                }
                let inner = text[text.index(after: text.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                text = text[text.index(after: close)...]
                steps.append(try Self.bracketStep(inner, expression: expression))
            } else {
                throw ParseError(expression: expression, detail: "unexpected '\(first)'")
            }
        }
        self.steps = steps
    }

    private static func closingBracket(in text: Substring) -> Substring.Index? {
        var quote: Character?
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "]" {
                return index
            }
            index = text.index(after: index)
        }
        return nil
    }

    private static func bracketStep(_ inner: String, expression: String) throws(ParseError) -> Step {
        if inner == "*" { return .wildcard }
        if let number = Int(inner) { return .index(number) }
        if inner.count >= 2, let quote = inner.first, quote == "'" || quote == "\"", inner.last == quote {
            return .key(String(inner.dropFirst().dropLast()))
        }
        if inner.hasPrefix("?(@."), inner.hasSuffix(")") {
            let body = inner.dropFirst(4).dropLast()
            guard let range = body.range(of: "==") else {
                throw ParseError(expression: expression, detail: "only == filters are supported")
            }
            let path = body[..<range.lowerBound].trimmingCharacters(in: .whitespaces).split(separator: ".").map(
                String.init)
            var value = body[range.upperBound...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "'" || quote == "\"", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            return .filter(path: path, equals: value)
        }
        throw ParseError(expression: expression, detail: "unsupported [\(inner)]")
    }

    /// Every value the path reaches, in document order.
    func evaluate(_ document: JSONValue) -> [JSONValue] {
        var current = [document]
        for step in steps {
            var next: [JSONValue] = []
            for value in current {
                switch step {
                case .key(let key):
                    if let child = value[key] { next.append(child) }
                case .index(let index):
                    if let items = value.arrayValue {
                        let resolved = index < 0 ? items.count + index : index
                        if items.indices.contains(resolved) { next.append(items[resolved]) }
                    }
                case .wildcard:
                    if let items = value.arrayValue { next.append(contentsOf: items) }
                    if let fields = value.objectValue {
                        next.append(contentsOf: fields.keys.sorted().map { fields[$0]! })
                    }
                case .filter(let path, let expected):
                    for item in value.arrayValue ?? [] where FieldSelector.text(item.value(at: path)) == expected {
                        next.append(item)
                    }
                }
            }
            current = next
        }
        return current
    }
}
