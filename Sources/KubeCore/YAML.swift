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

    /// Every document in `text`. Nesting (block and flow together) deeper than `maxDepth`
    /// is an error, as in `JSONValue(parsing:)`; parsing is linear in the text.
    public static func parseDocuments(_ text: String, maxDepth: Int = JSONValue.defaultMaxDepth) throws(ParseError)
        -> [JSONValue]
    {
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
            var parser = Parser(lines: lines, maxDepth: maxDepth)
            if let value = try parser.parseDocument() { result.append(value) }
        }
        return result
    }

    /// The single document in `text` (an empty document is null).
    public static func parse(_ text: String, maxDepth: Int = JSONValue.defaultMaxDepth) throws(ParseError) -> JSONValue
    {
        try parseDocuments(text, maxDepth: maxDepth).first ?? .null
    }

    struct Line {
        var number: Int
        var text: String
        /// Leading spaces, counted once.
        let indent: Int

        init(number: Int, text: String) {
            self.number = number
            self.text = text
            indent = text.utf8.prefix { $0 == UInt8(ascii: " ") }.count
        }

        var content: String { String(text.dropFirst(indent)) }
        var isBlank: Bool {
            let trimmed = content.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty || trimmed.hasPrefix("#")
        }
    }

    struct Parser {
        var lines: [Line]
        var index = 0
        let maxDepth: Int
        var depth = 0

        init(lines: [Line], maxDepth: Int) {
            self.lines = lines
            self.maxDepth = maxDepth
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
            depth += 1
            defer { depth -= 1 }
            guard depth <= maxDepth else {
                throw ParseError(line: line.number, detail: "nesting deeper than \(maxDepth)")
            }
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
                    lines[index].content.hasPrefix("- ") || lines[index].content == "-"
                else { break }
                let line = lines[index]
                let rest = String(line.content.dropFirst(1)).drop { $0 == " " }
                if rest.isEmpty || rest.hasPrefix("#") {
                    index += 1
                    skipBlank()
                    items.append(
                        index < lines.count && lines[index].indent > indent
                            ? try parseNode(indent: lines[index].indent) : .null)
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
            var header = stripComment(text)
            guard header.first == "|" || header.first == ">" else {
                // A multi-line flow scalar: lines indented deeper than the key continue it,
                // folded into one line with spaces (kubectl wraps long values this way).
                let isPlain = header.first != "\"" && header.first != "'"
                while index < lines.count, !lines[index].isBlank, lines[index].indent > parentIndent,
                    !(isPlain && splitKey(lines[index].content) != nil)
                {  // `a: 1` + deeper `b: 2` stays an error
                    header += " " + stripComment(lines[index].content)
                    index += 1
                }
                return try scalar(header, line: line.number)
            }
            let keep = header.contains("+")
            let strip = header.contains("-")
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
                return (
                    String(content[content.index(after: content.startIndex)..<close]),
                    String(after.dropFirst()).trimmingCharacters(in: .whitespaces)
                )
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
            var inSingle = false
            var inDouble = false
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
                guard text.count >= 2, text.hasSuffix("\"") else {
                    throw ParseError(line: line, detail: "unterminated double-quoted string")
                }
                do {
                    return try JSONValue(parsing: Data(text.utf8))
                } catch {
                    throw ParseError(line: line, detail: "bad escape in double-quoted string")
                }
            }
            if text.hasPrefix("'") {
                guard text.count >= 2, text.hasSuffix("'") else {
                    throw ParseError(line: line, detail: "unterminated single-quoted string")
                }
                return .string(String(text.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'"))
            }
            if text.hasPrefix("[") || text.hasPrefix("{") { return try flow(text, line: line) }
            return Self.resolvePlain(text)
        }

        /// Flow collections, nested: `[a, "b", 3]`, `{a: 1, b: [x, y]}`, `[]`, `{}` — one pass
        /// over the text, nesting counted with the block levels around it.
        func flow(_ text: String, line: Int) throws(ParseError) -> JSONValue {
            var reader = FlowReader(bytes: Array(text.utf8), line: line, maxDepth: maxDepth, depth: depth)
            return try reader.document()
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
            if text.count > 1, text.hasPrefix("0"), let octal = Int64(text.dropFirst(), radix: 8) {
                return .integer(octal)
            }
            if let integer = Int64(text) { return .integer(integer) }
            if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }),
                text.first.map({ $0.isNumber || $0 == "-" || $0 == "." }) == true,
                let number = Double(text)
            {
                return .number(number)
            }
            return .string(text)
        }
    }
}

/// A cursor over one flow collection (`[…]` / `{…}`), recursive descent with a depth limit.
struct FlowReader {
    let bytes: [UInt8]
    var index = 0
    let line: Int
    let maxDepth: Int
    var depth: Int

    init(bytes: [UInt8], line: Int, maxDepth: Int, depth: Int) {
        self.bytes = bytes
        self.line = line
        self.maxDepth = maxDepth
        self.depth = depth
    }

    private func failure(_ detail: String) -> YAML.ParseError { YAML.ParseError(line: line, detail: detail) }

    mutating func document() throws(YAML.ParseError) -> JSONValue {
        let value = try node(inMapping: false)
        skipSpaces()
        guard index == bytes.count else { throw failure("unterminated flow collection") }
        return value
    }

    private mutating func skipSpaces() {
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
            index += 1
        }
    }

    private mutating func node(inMapping: Bool) throws(YAML.ParseError) -> JSONValue {
        skipSpaces()
        guard index < bytes.count else { throw failure("unterminated flow collection") }
        switch bytes[index] {
        case UInt8(ascii: "["), UInt8(ascii: "{"): return try collection()
        case UInt8(ascii: "\""): return try doubleQuoted()
        case UInt8(ascii: "'"): return .string(try singleQuoted())
        default: return YAML.Parser.resolvePlain(plain(stopAtColon: false))
        }
    }

    private mutating func collection() throws(YAML.ParseError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= maxDepth else { throw failure("nesting deeper than \(maxDepth)") }
        let isSequence = bytes[index] == UInt8(ascii: "[")
        let close = isSequence ? UInt8(ascii: "]") : UInt8(ascii: "}")
        index += 1
        var items: [JSONValue] = []
        var fields: [String: JSONValue] = [:]
        while true {
            skipSpaces()
            guard index < bytes.count else { throw failure("unterminated flow collection") }
            if bytes[index] == close {
                index += 1
                break
            }
            if isSequence {
                items.append(try node(inMapping: false))
            } else {
                let (key, value) = try entry(close: close)
                fields[key] = value
            }
            skipSpaces()
            guard index < bytes.count else { throw failure("unterminated flow collection") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] != close {
                throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))' in a flow collection")
            }
        }
        return isSequence ? .array(items) : .object(fields)
    }

    /// `key: value`, `key:` (null) or a quoted key.
    private mutating func entry(close: UInt8) throws(YAML.ParseError) -> (String, JSONValue) {
        let key: String
        switch bytes[index] {
        case UInt8(ascii: "\""):
            guard case .string(let text) = try doubleQuoted() else {
                throw failure("expected 'key: value' in flow mapping")
            }
            key = text
        case UInt8(ascii: "'"): key = try singleQuoted()
        default: key = plain(stopAtColon: true)
        }
        guard !key.isEmpty else { throw failure("expected 'key: value' in flow mapping") }
        skipSpaces()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
            throw failure("expected 'key: value' in flow mapping")
        }
        index += 1
        skipSpaces()
        guard index < bytes.count else { throw failure("unterminated flow collection") }
        if bytes[index] == UInt8(ascii: ",") || bytes[index] == close { return (key, .null) }
        return (key, try node(inMapping: true))
    }

    /// A plain scalar up to `,`, `]`, `}` (and, for a mapping key, `: ` or a final `:`), trimmed.
    private mutating func plain(stopAtColon: Bool) -> String {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { break }
            if stopAtColon, byte == UInt8(ascii: ":"),
                index + 1 == bytes.count
                    || [UInt8(ascii: " "), UInt8(ascii: ","), UInt8(ascii: "}")].contains(bytes[index + 1])
            {
                break
            }
            index += 1
        }
        var end = index
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// A double-quoted scalar, its escapes decoded as JSON's.
    private mutating func doubleQuoted() throws(YAML.ParseError) -> JSONValue {
        let start = index
        index += 1
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard index < bytes.count else { throw failure("unterminated double-quoted string") }
        index += 1
        do {
            return try JSONValue(parsing: Data(bytes[start..<index]))
        } catch {
            throw failure("bad escape in double-quoted string")
        }
    }

    private mutating func singleQuoted() throws(YAML.ParseError) -> String {
        index += 1
        var text: [UInt8] = []
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "'") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") {
                    text.append(UInt8(ascii: "'"))
                    index += 2
                    continue
                }
                index += 1
                return String(decoding: text, as: UTF8.self)
            }
            text.append(bytes[index])
            index += 1
        }
        throw failure("unterminated single-quoted string")
    }
}
