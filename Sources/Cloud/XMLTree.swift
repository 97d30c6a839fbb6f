import Foundation

/// An element of an AWS Query-protocol response: its local name (any namespace prefix
/// dropped), its own character data and its child elements. Parsed by `XMLTree.parse`, ours:
/// FoundationXML's XMLDocument leaked about 11 KB per document on this toolchain (nodes and
/// their document keep each other alive), which a controller polling Auto Scaling groups
/// turned into hundreds of megabytes a day.
public struct XMLTree: Sendable, Equatable {
    public var name: String
    /// The element's own text (entities and CDATA decoded), not its descendants'.
    public var text: String
    public var children: [XMLTree]

    public init(name: String, text: String = "", children: [XMLTree] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var offset: Int
        public var problem: String
        public var description: String { "XML at byte \(offset): \(problem)" }
    }

    /// Nesting allowed (AWS responses are about six deep).
    public static let maxDepth = 64
    /// Elements allowed in one document.
    public static let maxElements = 1_000_000

    /// The text of this element and every descendant, in document order.
    public var stringValue: String { text + children.map(\.stringValue).joined() }

    /// Child elements along `path` by local name.
    public func elements(path: [String]) -> [XMLTree] {
        var current = [self]
        for name in path { current = current.flatMap { $0.children.filter { $0.name == name } } }
        return current
    }

    /// The text of the first child named `name`.
    public func text(_ name: String) -> String? { elements(path: [name]).first?.stringValue }

    /// The first element named `name` at any depth (this one included), depth first.
    public func first(named name: String) -> XMLTree? {
        if self.name == name { return self }
        for child in children { if let found = child.first(named: name) { return found } }
        return nil
    }

    /// The document element of `data`. Declarations, processing instructions, comments and
    /// a DOCTYPE are skipped; attributes are read past, not kept.
    public static func parse(_ data: Data) throws(ParseError) -> XMLTree {
        var parser = Parser(bytes: [UInt8](data))
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var elements = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ problem: String) -> ParseError { ParseError(offset: index, problem: problem) }

        func starts(with text: String) -> Bool {
            let pattern = Array(text.utf8)
            return index + pattern.count <= bytes.count && bytes[index..<index + pattern.count].elementsEqual(pattern)
        }

        mutating func skip(past terminator: String) throws(ParseError) {
            let pattern = Array(terminator.utf8)
            while index + pattern.count <= bytes.count {
                if bytes[index] == pattern[0], bytes[index..<index + pattern.count].elementsEqual(pattern) {
                    index += pattern.count
                    return
                }
                index += 1
            }
            throw fail("unterminated construct (no \(terminator))")
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// Skips what may stand around the document element.
        mutating func skipMisc() throws(ParseError) {
            while true {
                skipSpace()
                if starts(with: "<?") {
                    try skip(past: "?>")
                } else if starts(with: "<!--") {
                    try skip(past: "-->")
                } else if starts(with: "<!DOCTYPE") {
                    try skip(past: ">")
                } else {
                    return
                }
            }
        }

        mutating func document() throws(ParseError) -> XMLTree {
            if starts(with: "\u{FEFF}") { index += 3 }
            try skipMisc()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw fail("no document element") }
            let root = try element(depth: 1)
            try skipMisc()
            guard index == bytes.count else { throw fail("content after the document element") }
            return root
        }

        static func isNameByte(_ byte: UInt8) -> Bool {
            byte >= 0x80 || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":")].contains(byte)
        }

        mutating func name() throws(ParseError) -> String {
            let start = index
            while index < bytes.count, Self.isNameByte(bytes[index]) { index += 1 }
            guard index > start else { throw fail("expected a name") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        static func localName(_ qualified: String) -> String {
            qualified.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? qualified
        }

        /// At "<": the element, its content and its end tag.
        mutating func element(depth: Int) throws(ParseError) -> XMLTree {
            guard depth <= XMLTree.maxDepth else { throw fail("nested deeper than \(XMLTree.maxDepth)") }
            elements += 1
            guard elements <= XMLTree.maxElements else { throw fail("more than \(XMLTree.maxElements) elements") }
            index += 1
            let qualified = try name()
            // Attributes: name = "value" | 'value', read past.
            while true {
                skipSpace()
                guard index < bytes.count else { throw fail("unterminated start tag <\(qualified)") }
                if bytes[index] == UInt8(ascii: "/") {
                    guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else {
                        throw fail("expected /> in <\(qualified)")
                    }
                    index += 2
                    return XMLTree(name: Self.localName(qualified))
                }
                if bytes[index] == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                _ = try name()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                    throw fail("expected = after an attribute name in <\(qualified)")
                }
                index += 1
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'")
                else { throw fail("expected a quoted attribute value in <\(qualified)") }
                let quote = bytes[index]
                index += 1
                while index < bytes.count, bytes[index] != quote { index += 1 }
                guard index < bytes.count else { throw fail("unterminated attribute value in <\(qualified)") }
                index += 1
            }
            var node = XMLTree(name: Self.localName(qualified))
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("<\(qualified)> is never closed") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "<") {
                    if starts(with: "</") {
                        index += 2
                        let closing = try name()
                        guard closing == qualified else { throw fail("</\(closing)> closes <\(qualified)>") }
                        skipSpace()
                        guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                            throw fail("expected > after </\(closing)")
                        }
                        index += 1
                        node.text = String(decoding: text, as: UTF8.self)
                        return node
                    } else if starts(with: "<!--") {
                        try skip(past: "-->")
                    } else if starts(with: "<![CDATA[") {
                        index += 9
                        let start = index
                        try skip(past: "]]>")
                        text.append(contentsOf: bytes[start..<index - 3])
                    } else if starts(with: "<?") {
                        try skip(past: "?>")
                    } else {
                        node.children.append(try element(depth: depth + 1))
                    }
                } else if byte == UInt8(ascii: "&") {
                    try entity(into: &text)
                } else {
                    text.append(byte)
                    index += 1
                }
            }
        }

        static let namedEntities: [String: String] = ["lt": "<", "gt": ">", "amp": "&", "quot": "\"", "apos": "'"]

        /// At "&": a predefined entity or a character reference, appended as UTF-8.
        mutating func entity(into text: inout [UInt8]) throws(ParseError) {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ";"), index - start <= 12 { index += 1 }
            guard index < bytes.count, bytes[index] == UInt8(ascii: ";") else { throw fail("unterminated entity") }
            let body = String(decoding: bytes[start + 1..<index], as: UTF8.self)
            index += 1
            if let value = Self.namedEntities[body] {
                text.append(contentsOf: Array(value.utf8))
                return
            }
            var code: UInt32?
            if body.hasPrefix("#x") || body.hasPrefix("#X") {
                code = UInt32(body.dropFirst(2), radix: 16)
            } else if body.hasPrefix("#") {
                code = UInt32(body.dropFirst(), radix: 10)
            }
            guard let code, let scalar = Unicode.Scalar(code) else {
                index = start
                throw fail("unknown entity &\(body);")
            }
            text.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
    }
}
