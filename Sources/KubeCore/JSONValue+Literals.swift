extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The object's string-valued fields (labels, annotations); other values are skipped.
    public var stringMap: [String: String] {
        guard case .object(let fields) = self else { return [:] }
        return fields.compactMapValues(\.stringValue)
    }

    /// Sets the value at a path of object keys, creating intermediate objects; `nil` removes it.
    public mutating func setValue(_ value: JSONValue?, at path: [String]) {
        guard let first = path.first else {
            if let value { self = value }
            return
        }
        guard case .object(var fields) = self else {
            if value == nil { return }
            self = .object([:])
            setValue(value, at: path)
            return
        }
        if path.count == 1 {
            fields[first] = value
        } else {
            var child = fields[first] ?? .object([:])
            child.setValue(value, at: Array(path.dropFirst()))
            fields[first] = child
        }
        self = .object(fields)
    }
}
