import Foundation
import KubeCore
import Transport

/// One event of a watch stream (https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks).
public struct WatchEvent: Sendable {
    public enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
        case bookmark = "BOOKMARK"
    }

    public var kind: Kind
    public var object: JSONValue
    public var resourceVersion: String { object.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "" }

    /// Splits the chunked body into newline-delimited events; an ERROR event ends the stream
    /// with its Status as a `KubeError` (410 → `.expired`).
    static func decode(_ body: HTTPBodyStream) -> AsyncThrowingStream<WatchEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var pending: [UInt8] = []
                do {
                    for try await chunk in body {
                        pending.append(contentsOf: chunk)
                        var lineStart = 0
                        while let newline = pending[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                            defer { lineStart = newline + 1 }
                            let line = pending[lineStart..<newline]
                            guard !line.allSatisfy({ $0 == 32 || $0 == 13 }) else { continue }
                            let event = try JSONValue(parsing: Data(line))
                            let type = event["type"]?.stringValue ?? ""
                            let object = event["object"] ?? .null
                            if type == "ERROR" {
                                let code = object["code"]?.intValue ?? 500
                                throw KubeError.from(status: code, headers: [:], body: object.serialized())
                            }
                            guard let kind = Kind(rawValue: type) else {
                                throw KubeError.decoding("unknown watch event type \(type)")
                            }
                            continuation.yield(WatchEvent(kind: kind, object: object))
                        }
                        pending.removeFirst(lineStart)
                    }
                    continuation.finish()
                } catch let error as TransportError {
                    continuation.finish(throwing: KubeError.transport(error))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
