import Foundation
import KubeCore
import Synchronization

/// Structured logs, one line per record: `key=value` text or one JSON object per line
/// (`--log-format text|json`). Records carry a level, a message and fields such as
/// `policy`, `reason` and `duration`. Lines go to standard error unless a sink is given
/// (tests collect them).
public struct Logger: Sendable {
    public enum Format: String, Sendable {
        case text
        case json
    }

    public let format: Format
    private let sink: @Sendable (String) -> Void
    private let now: @Sendable () -> Date

    public init(
        format: Format = .text, now: @escaping @Sendable () -> Date = { Date() },
        sink: (@Sendable (String) -> Void)? = nil
    ) {
        self.format = format
        self.now = now
        self.sink = sink ?? { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    /// Discards everything (benchmarks, tests that do not look).
    public static let discard = Logger(sink: { _ in })

    public func info(_ message: String, _ fields: [String: String] = [:]) { write("info", message, fields) }
    public func warning(_ message: String, _ fields: [String: String] = [:]) { write("warning", message, fields) }
    public func error(_ message: String, _ fields: [String: String] = [:]) { write("error", message, fields) }

    private func write(_ level: String, _ message: String, _ fields: [String: String]) {
        let time = Timestamps.formatMicro(now())
        let line: String
        switch format {
        case .json:
            var object: [String: JSONValue] = ["ts": .string(time), "level": .string(level), "msg": .string(message)]
            for (key, value) in fields { object[key] = .string(value) }
            line = String(decoding: JSONValue.object(object).serialized(), as: UTF8.self)
        case .text:
            line =
                "\(time) \(level) \(message)"
                + fields.sorted { $0.key < $1.key }.map { " \($0.key)=\(Self.quoted($0.value))" }.joined()
        }
        sink(line)
    }

    /// Values with spaces, quotes or `=` are quoted, so a line splits back into its fields.
    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) else {
            return value
        }
        return "\""
            + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    /// A duration as the logs show it: seconds with millisecond precision.
    public static func seconds(_ duration: Duration) -> String {
        String(format: "%.3f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}

/// A sink that keeps lines (tests).
public final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    public init() {}
    public var all: [String] { lines.withLock { $0 } }
    public var sink: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}
