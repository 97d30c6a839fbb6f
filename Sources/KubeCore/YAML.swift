import Foundation

/// A YAML subset parser for kubeconfig files and manifests: block mappings and sequences
/// (including `- key: value` items), plain, single- and double-quoted scalars, literal (`|`)
/// and folded (`>`) block scalars, nested flow sequences/mappings, comments, and `---`
/// document separators. No anchors, aliases or tags. Plain scalars resolve to null, true/false, integers
/// (leading zero: octal, as Kubernetes reads YAML), floats, else strings.
public enum YAML {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var detail: String
        public var description: String { "YAML line \(line): \(detail)" }
    }

    /// Every document in `text`.
    public static func parseDocuments(_ text: String) throws(ParseError) -> [JSONValue] {
        var documents: [[Line]] = [[]]
        for (number, raw) in text.components(separatedBy: "\n").enumerated() {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
            if line.hasPrefix("---") && (line.count == 3 || line.dropFirst(3).first == " ") {
                documents.append([])
                continue
            }
            if line == "..." { continue }
            documents[documents.count - 1].append(Line(number: number + 1, text: line))
        }
        var result: [JSONValue] = []
        for lines in documents {
            var parser = Parser(lines: lines)
            if let value = try parser.parseDocument() { result.append(value) }
        }
        return result
    }

    /// The single document in `text` (an empty document is null).
    public static func parse(_ text: String) throws(ParseError) -> JSONValue {
        try parseDocuments(text).first ?? .null
    }

    struct Line {
        var number: Int
        var text: String

        var indent: Int { text.prefix { $0 == " " }.count }
        var content: String { String(text.dropFirst(indent)) }
        var isBlank: Bool {
            let trimmed = content.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty || trimmed.hasPrefix("#")
        }
    }

    struct Parser {
        var lines: [Line]
        var index = 0

        init(lines: [Line]) {
            self.lines = lines
        }

        mutating func skipBlank() {
            while index < lines.count && lines[index].isBlank { index += 1 }
        }

        mutating func parseDocument() throws(ParseError) -> JSONValue? {
            skipBlank()
            guard index < lines.count else { return nil }
            let value = try parseNode(indent: lines[index].indent)
            skipBlank()
            if index < lines.count { throw ParseError(line: lines[index].number, detail: "unexpected indentation") }
            return value
        }

        mutating func parseNode(indent: Int) throws(ParseError) -> JSONValue {
            skipBlank()
            guard index < lines.count else { return .null }
            let line = lines[index]
            if line.content.hasPrefix("- ") || line.content == "-" { return try parseSequence(indent: line.indent) }
            if splitKey(line.content) != nil { return try parseMapping(indent: line.indent) }
            index += 1
            return try scalar(stripComment(line.content), line: line.number)
        }

        mutating func parseSequence(indent: Int) throws(ParseError) -> JSONValue {
            var items: [JSONValue] = []
            while true {
                skipBlank()
                guard index < lines.count, lines[index].indent == indent,
                      lines[index].content.hasPrefix("- ") || lines[index].content == "-" else { break }
                let line = lines[index]
                let rest = String(line.content.dropFirst(1)).drop { $0 == " " }
                if rest.isEmpty || rest.hasPrefix("#") {
                    index += 1
                    skipBlank()
                    items.append(index < lines.count && lines[index].indent > indent ? try parseNode(indent: lines[index].indent) : .null)
                    continue
                }
                // "- key: value" starts a mapping whose keys sit at the dash's indent + 2.
                let childIndent = indent + (line.content.count - rest.count)
                if splitKey(String(rest)) != nil || rest.hasPrefix("- ") {
                    lines[index] = Line(number: line.number, text: String(repeating: " ", count: childIndent) + rest)
                    items.append(try parseNode(indent: childIndent))
                } else {
                    index += 1
                    items.append(try blockOrScalar(String(rest), line: line, parentIndent: indent))
                }
            }
            return .array(items)
        }

        mutating func parseMapping(indent: Int) throws(ParseError) -> JSONValue {
            var fields: [String: JSONValue] = [:]
            while true {
                skipBlank()
                guard index < lines.count, lines[index].indent == indent else { break }
                let line = lines[index]
                guard let (key, rest) = splitKey(line.content) else {
                    throw ParseError(line: line.number, detail: "expected 'key: value'")
                }
                index += 1
                let value = stripComment(rest)
                if value.isEmpty {
                    skipBlank()
                    if index < lines.count, lines[index].indent > indent {
                        fields[key] = try parseNode(indent: lines[index].indent)
                    } else if index < lines.count, lines[index].indent == indent, lines[index].content.hasPrefix("- ") {
                        fields[key] = try parseSequence(indent: indent)  // sequences may sit at the key's indent
                    } else {
                        fields[key] = .null
                    }
                } else {
                    fields[key] = try blockOrScalar(value, line: line, parentIndent: indent)
                }
            }
            return .object(fields)
        }

        /// A `|` / `>` block scalar introduced on `line`, or an inline scalar.
        mutating func blockOrScalar(_ text: String, line: Line, parentIndent: Int) throws(ParseError) -> JSONValue {
            let header = stripComment(text)
            guard header.first == "|" || header.first == ">" else { return try scalar(header, line: line.number) }
            let keep = header.contains("+"), strip = header.contains("-")
            var body: [String] = []
            var blockIndent: Int?
            while index < lines.count {
                let candidate = lines[index]
                if candidate.content.trimmingCharacters(in: .whitespaces).isEmpty {
                    body.append("")
                    index += 1
                    continue
                }
                if candidate.indent <= parentIndent { break }
                if blockIndent == nil { blockIndent = candidate.indent }
                guard candidate.indent >= blockIndent! else { break }
                body.append(String(candidate.text.dropFirst(blockIndent!)))
                index += 1
            }
            var trailing = 0
            while let last = body.last, last.isEmpty {
                body.removeLast()
                trailing += 1
            }
            var value = header.first == "|" ? body.joined(separator: "\n") : body.joined(separator: " ")
            if !strip && !body.isEmpty { value += "\n" }
            if keep { value += String(repeating: "\n", count: trailing) }
            return .string(value)
        }

        /// `key: rest` outside quotes; keys may be quoted.
        func splitKey(_ text: String) -> (String, String)? {
            let content = text
            if content.hasPrefix("\"") || content.hasPrefix("'") {
                let quote = content.first!
                guard let close = content.dropFirst().firstIndex(of: quote) else { return nil }
                let after = content[content.index(after: close)...]
                guard after.hasPrefix(":"), after.count == 1 || after.dropFirst().first == " " else { return nil }
                return (String(content[content.index(after: content.startIndex)..<close]), String(after.dropFirst()).trimmingCharacters(in: .whitespaces))
            }
            guard !content.hasPrefix("[") && !content.hasPrefix("{") && !content.hasPrefix("#") else { return nil }
            var search = content.startIndex
            while let colon = content[search...].firstIndex(of: ":") {
                let next = content.index(after: colon)
                if next == content.endIndex || content[next] == " " {
                    let key = String(content[..<colon]).trimmingCharacters(in: .whitespaces)
                    guard !key.isEmpty else { return nil }
                    return (key, String(content[next...]).trimmingCharacters(in: .whitespaces))
                }
                search = next
            }
            return nil
        }

        /// Removes a trailing ` # comment` outside quotes.
        func stripComment(_ text: String) -> String {
            var inSingle = false, inDouble = false
            var previous: Character = " "
            for (offset, character) in text.enumerated() {
                if character == "'" && !inDouble { inSingle.toggle() }
                if character == "\"" && !inSingle && previous != "\\" { inDouble.toggle() }
                if character == "#" && !inSingle && !inDouble && (offset == 0 || previous == " ") {
                    return String(text.prefix(offset)).trimmingCharacters(in: .whitespaces)
                }
                previous = character
            }
            return text.trimmingCharacters(in: .whitespaces)
        }

        func scalar(_ text: String, line: Int) throws(ParseError) -> JSONValue {
            if text.hasPrefix("\"") {
                guard text.count >= 2, text.hasSuffix("\"") else { throw ParseError(line: line, detail: "unterminated double-quoted string") }
                do {
                    return try JSONValue(parsing: Data(text.utf8))
                } catch {
                    throw ParseError(line: line, detail: "bad escape in double-quoted string")
                }
            }
            if text.hasPrefix("'") {
                guard text.count >= 2, text.hasSuffix("'") else { throw ParseError(line: line, detail: "unterminated single-quoted string") }
                return .string(String(text.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'"))
            }
            if text.hasPrefix("[") || text.hasPrefix("{") { return try flow(text, line: line) }
            return Self.resolvePlain(text)
        }

        /// Flow collections, nested: `[a, "b", 3]`, `{a: 1, b: [x, y]}`, `[]`, `{}`.
        func flow(_ text: String, line: Int) throws(ParseError) -> JSONValue {
            let open = text.first!, close: Character = open == "[" ? "]" : "}"
            guard text.hasSuffix(String(close)) else { throw ParseError(line: line, detail: "unterminated flow collection") }
            let inner = text.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
            if inner.isEmpty { return open == "[" ? .array([]) : .object([:]) }
            var parts: [String] = []
            var current = "", quote: Character? = nil, depth = 0
            for character in inner {
                if let q = quote {
                    if character == q { quote = nil }
                    current.append(character)
                } else if character == "\"" || character == "'" {
                    quote = character
                    current.append(character)
                } else if character == "[" || character == "{" {
                    depth += 1
                    current.append(character)
                } else if character == "]" || character == "}" {
                    depth -= 1
                    current.append(character)
                } else if character == "," && depth == 0 {
                    parts.append(current.trimmingCharacters(in: .whitespaces))
                    current = ""
                } else {
                    current.append(character)
                }
            }
            parts.append(current.trimmingCharacters(in: .whitespaces))
            if open == "[" {
                var items: [JSONValue] = []
                for part in parts { items.append(try scalar(part, line: line)) }
                return .array(items)
            }
            var fields: [String: JSONValue] = [:]
            for part in parts {
                guard let (key, value) = splitKey(part) else { throw ParseError(line: line, detail: "expected 'key: value' in flow mapping") }
                fields[key] = try scalar(value, line: line)
            }
            return .object(fields)
        }

        static func resolvePlain(_ text: String) -> JSONValue {
            switch text {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: break
            }
            // A leading zero means octal, as in YAML 1.1 and Kubernetes' own YAML reader
            // (`defaultMode: 0644` is 420).
            if text.count > 1, text.hasPrefix("0"), let octal = Int64(text.dropFirst(), radix: 8) { return .integer(octal) }
            if let integer = Int64(text) { return .integer(integer) }
            if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), text.first.map({ $0.isNumber || $0 == "-" || $0 == "." }) == true,
               let number = Double(text) { return .number(number) }
            return .string(text)
        }
    }
}
