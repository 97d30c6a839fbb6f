/// JSON Merge Patch (RFC 7386), `application/merge-patch+json`: objects merge recursively,
/// `null` deletes a key, anything else (arrays included) replaces.
public func applyMergePatch(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
    guard case .object(let patchFields) = patch else { return patch }
    var result: [String: JSONValue]
    if case .object(let targetFields) = target { result = targetFields } else { result = [:] }
    for (key, value) in patchFields {
        if value == .null {
            result[key] = nil
        } else {
            result[key] = applyMergePatch(value, to: result[key] ?? .null)
        }
    }
    return .object(result)
}

/// JSON Patch (RFC 6902), `application/json-patch+json`.
public enum JSONPatchError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case pathNotFound(String)
    case testFailed(String)

    public var description: String {
        switch self {
        case .malformed(let detail): "malformed JSON patch: \(detail)"
        case .pathNotFound(let path): "JSON patch path not found: \(path)"
        case .testFailed(let path): "JSON patch test failed at \(path)"
        }
    }
}

public func applyJSONPatch(_ patch: JSONValue, to target: JSONValue) throws(JSONPatchError) -> JSONValue {
    guard case .array(let operations) = patch else { throw .malformed("a JSON patch is an array of operations") }
    var document = target
    for operation in operations {
        guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
            throw .malformed("every operation needs 'op' and 'path'")
        }
        let pointer = try parsePointer(path)
        switch op {
        case "add":
            guard let value = operation["value"] else { throw .malformed("add needs 'value'") }
            document = try add(value, at: pointer, path: path, in: document)
        case "remove":
            document = try remove(at: pointer, path: path, from: document).document
        case "replace":
            guard let value = operation["value"] else { throw .malformed("replace needs 'value'") }
            guard get(pointer, in: document) != nil else { throw .pathNotFound(path) }
            document = try add(
                value, at: pointer, path: path, in: try remove(at: pointer, path: path, from: document).document)
        case "move", "copy":
            guard let from = operation["from"]?.stringValue else { throw .malformed("\(op) needs 'from'") }
            let source = try parsePointer(from)
            guard let value = get(source, in: document) else { throw .pathNotFound(from) }
            if op == "move" { document = try remove(at: source, path: from, from: document).document }
            document = try add(value, at: pointer, path: path, in: document)
        case "test":
            guard let value = operation["value"] else { throw .malformed("test needs 'value'") }
            guard get(pointer, in: document) == value else { throw .testFailed(path) }
        default:
            throw .malformed("unknown op '\(op)'")
        }
    }
    return document
}

/// RFC 6901 pointer tokens ("~1" is "/", "~0" is "~").
func parsePointer(_ path: String) throws(JSONPatchError) -> [String] {
    if path.isEmpty { return [] }
    guard path.hasPrefix("/") else { throw .malformed("pointer '\(path)' must start with '/'") }
    return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
        $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }
}

func get(_ pointer: [String], in document: JSONValue) -> JSONValue? {
    var current = document
    for token in pointer {
        switch current {
        case .object(let fields):
            guard let next = fields[token] else { return nil }
            current = next
        case .array(let items):
            guard let index = Int(token), items.indices.contains(index) else { return nil }
            current = items[index]
        default:
            return nil
        }
    }
    return current
}

private func add(_ value: JSONValue, at pointer: [String], path: String, in document: JSONValue) throws(JSONPatchError)
    -> JSONValue
{
    guard let token = pointer.first else { return value }
    let rest = Array(pointer.dropFirst())
    switch document {
    case .object(var fields):
        if rest.isEmpty {
            fields[token] = value
        } else {
            guard let child = fields[token] else { throw .pathNotFound(path) }
            fields[token] = try add(value, at: rest, path: path, in: child)
        }
        return .object(fields)
    case .array(var items):
        if rest.isEmpty {
            if token == "-" {
                items.append(value)
                return .array(items)
            }
            guard let index = Int(token), index >= 0, index <= items.count else { throw .pathNotFound(path) }
            items.insert(value, at: index)
        } else {
            guard let index = Int(token), items.indices.contains(index) else { throw .pathNotFound(path) }
            items[index] = try add(value, at: rest, path: path, in: items[index])
        }
        return .array(items)
    default:
        throw .pathNotFound(path)
    }
}

private func remove(at pointer: [String], path: String, from document: JSONValue) throws(JSONPatchError) -> (
    document: JSONValue, removed: JSONValue
) {
    guard let token = pointer.first else { throw .malformed("cannot remove the whole document") }
    let rest = Array(pointer.dropFirst())
    switch document {
    case .object(var fields):
        guard let child = fields[token] else { throw .pathNotFound(path) }
        if rest.isEmpty {
            fields[token] = nil
            return (.object(fields), child)
        }
        let (updated, removed) = try remove(at: rest, path: path, from: child)
        fields[token] = updated
        return (.object(fields), removed)
    case .array(var items):
        guard let index = Int(token), items.indices.contains(index) else { throw .pathNotFound(path) }
        if rest.isEmpty {
            let removed = items.remove(at: index)
            return (.array(items), removed)
        }
        let (updated, removed) = try remove(at: rest, path: path, from: items[index])
        items[index] = updated
        return (.array(items), removed)
    default:
        throw .pathNotFound(path)
    }
}
