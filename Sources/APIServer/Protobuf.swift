import Foundation
import KubeCore

/// Decodes the Kubernetes protobuf envelope (`k8s\0` + runtime.Unknown) for the built-in kinds
/// kubectl's typed clients send as protobuf (`kubectl create configmap|secret|namespace`)
/// into the JSON form. Field numbers from k8s.io/api core/v1 and apimachinery meta/v1
/// generated.proto (https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding).
enum KubeProtobuf {
    struct DecodeError: Error {
        var problem: String
    }

    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]

    static func decode(_ data: Data) throws(DecodeError) -> JSONValue {
        let bytes = [UInt8](data)
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
            throw DecodeError(problem: "missing the k8s protobuf envelope")
        }
        var apiVersion = ""
        var kind = ""
        var raw: [UInt8] = []
        for field in try fields(bytes[4...]) {
            switch field.number {
            case 1:
                for meta in try fields(field.bytes) {
                    if meta.number == 1 { apiVersion = meta.string }
                    if meta.number == 2 { kind = meta.string }
                }
            case 2: raw = Array(field.bytes)
            default: break
            }
        }
        let message = try fields(raw[...])
        var object: [String: JSONValue] = ["apiVersion": .string(apiVersion), "kind": .string(kind)]
        switch kind {
        case "ConfigMap":
            for field in message {
                switch field.number {
                case 1: object["metadata"] = try objectMeta(field.bytes)
                case 2: try addMapEntry(field.bytes, to: &object, key: "data", binary: false)
                case 3: try addMapEntry(field.bytes, to: &object, key: "binaryData", binary: true)
                case 4: object["immutable"] = .bool(field.varint != 0)
                default: break
                }
            }
        case "Secret":
            for field in message {
                switch field.number {
                case 1: object["metadata"] = try objectMeta(field.bytes)
                case 2: try addMapEntry(field.bytes, to: &object, key: "data", binary: true)
                case 3: object["type"] = .string(field.string)
                case 4: try addMapEntry(field.bytes, to: &object, key: "stringData", binary: false)
                case 5: object["immutable"] = .bool(field.varint != 0)
                default: break
                }
            }
        case "Namespace":
            for field in message where field.number == 1 {
                object["metadata"] = try objectMeta(field.bytes)
            }
        default:
            throw DecodeError(
                problem:
                    "protobuf bodies are accepted for ConfigMap, Secret and Namespace only (got kind \"\(kind)\"); "
                    + "send JSON"
            )
        }
        return .object(object)
    }

    private static func objectMeta(_ bytes: ArraySlice<UInt8>) throws(DecodeError) -> JSONValue {
        var meta: [String: JSONValue] = [:]
        // gogo-protobuf writes empty strings for unset string fields; JSON omits them.
        for field in try fields(bytes) {
            let text = field.string
            switch field.number {
            case 1 where !text.isEmpty: meta["name"] = .string(text)
            case 2 where !text.isEmpty: meta["generateName"] = .string(text)
            case 3 where !text.isEmpty: meta["namespace"] = .string(text)
            case 5 where !text.isEmpty: meta["uid"] = .string(text)
            case 6 where !text.isEmpty: meta["resourceVersion"] = .string(text)
            case 11: try addMapEntry(field.bytes, to: &meta, key: "labels", binary: false)
            case 12: try addMapEntry(field.bytes, to: &meta, key: "annotations", binary: false)
            case 14:
                var finalizers = meta["finalizers"]?.arrayValue ?? []
                finalizers.append(.string(field.string))
                meta["finalizers"] = .array(finalizers)
            default: break
            }
        }
        return .object(meta)
    }

    private static func addMapEntry(
        _ bytes: ArraySlice<UInt8>, to object: inout [String: JSONValue], key: String, binary: Bool
    ) throws(DecodeError) {
        var entryKey = ""
        var value: JSONValue = .string("")
        for field in try fields(bytes) {
            if field.number == 1 { entryKey = field.string }
            if field.number == 2 { value = .string(binary ? Data(field.bytes).base64EncodedString() : field.string) }
        }
        var map = object[key]?.objectValue ?? [:]
        map[entryKey] = value
        object[key] = .object(map)
    }

    struct Field {
        var number: Int
        var varint: UInt64 = 0
        var bytes: ArraySlice<UInt8> = []
        var string: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Splits a message into its fields (wire types 0, 1, 2, 5). Every length and offset is
    /// checked against the bytes left before it is used; nesting is fixed by the message
    /// types decoded above (envelope → object → metadata → map entry), so nothing recurses on input.
    static func fields(_ bytes: ArraySlice<UInt8>) throws(DecodeError) -> [Field] {
        var result: [Field] = []
        var index = bytes.startIndex
        func varint() throws(DecodeError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.endIndex, shift < 64 else { throw DecodeError(problem: "truncated varint") }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while index < bytes.endIndex {
            let tag = try varint()
            // Field numbers are at most 2^29 − 1; lengths at most what is left of the body.
            guard let number = Int(exactly: tag >> 3), number >= 1, number < 1 << 29 else {
                throw DecodeError(problem: "bad field number")
            }
            var field = Field(number: number)
            switch tag & 7 {
            case 0: field.varint = try varint()
            case 1, 5:
                let width = tag & 7 == 1 ? 8 : 4
                guard width <= bytes.endIndex - index else { throw DecodeError(problem: "truncated fixed field") }
                index += width
            case 2:
                guard let length = Int(exactly: try varint()), length <= bytes.endIndex - index else {
                    throw DecodeError(problem: "truncated length-delimited field")
                }
                field.bytes = bytes[index..<index + length]
                index += length
            default:
                throw DecodeError(problem: "unsupported wire type \(tag & 7)")
            }
            result.append(field)
        }
        return result
    }
}
