import Foundation

/// A CSV time series: a `timestamp` column and numeric columns, in file order.
public struct TimeSeriesTable: Sendable {
    public var timestamps: [Date]
    public var columns: [String: [Float]]
    public var columnNames: [String]

    public var count: Int { timestamps.count }

    public struct ParseError: Error, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var problem: String
        public var description: String { line > 0 ? "\(path):\(line): \(problem)" : "\(path): \(problem)" }
    }

    public init(timestamps: [Date], columns: [String: [Float]], columnNames: [String]) {
        self.timestamps = timestamps
        self.columns = columns
        self.columnNames = columnNames
    }

    /// What `load` did to put the file on a regular grid (nil for a table built otherwise).
    public var regularity: Regularity?

    /// Fields that mean "no value here".
    static let missingMarkers: Set<String> = ["NaN", "nan", "NAN", "null", "NULL", "NA", "N/A"]

    /// Reads `path` and puts it on a regular grid (`regularized`) of `step` seconds (default:
    /// the file's median interval); `regularity` says what was filled. Timestamps:
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]` or ISO 8601 (UTC).
    public static func load(path: String, step: Double? = nil) throws(ParseError) -> TimeSeriesTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParseError(path: path, line: 0, problem: "cannot read the file")
        }
        var (table, regularity) = try parse(String(decoding: data, as: UTF8.self), path: path)
            .regularized(step: step, path: path)
        table.regularity = regularity
        return table
    }

    public static func parse(_ text: String, path: String = "<input>") throws(ParseError) -> TimeSeriesTable {
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard !lines.isEmpty else { throw ParseError(path: path, line: 0, problem: "empty file") }
        let header = lines.removeFirst().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let timeIndex = header.firstIndex(of: "timestamp") else {
            throw ParseError(
                path: path, line: 1, problem: "no 'timestamp' column (header: \(header.joined(separator: ",")))")
        }
        let names = header.enumerated().filter { $0.offset != timeIndex }.map(\.element)
        if let bad = names.first(where: { $0.isEmpty || $0 == "timestamp" })
            ?? Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key
        {
            throw ParseError(
                path: path, line: 1, problem: bad.isEmpty ? "a column has no name" : "column '\(bad)' appears twice")
        }
        var values = names.map { _ in [Float]() }
        var timestamps: [Date] = []
        timestamps.reserveCapacity(lines.count)
        for (offset, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count else {
                throw ParseError(
                    path: path, line: offset + 2, problem: "expected \(header.count) fields, found \(fields.count)")
            }
            guard let time = parseTimestamp(String(fields[timeIndex])) else {
                throw ParseError(path: path, line: offset + 2, problem: "bad timestamp '\(fields[timeIndex])'")
            }
            if let previous = timestamps.last, time <= previous {
                throw ParseError(
                    path: path, line: offset + 2,
                    problem: "timestamp '\(fields[timeIndex])' does not come after the row before it")
            }
            timestamps.append(time)
            var column = 0
            for (index, field) in fields.enumerated() where index != timeIndex {
                let text = field.trimmingCharacters(in: .whitespaces)
                // A blank or NaN field is a missing value: `regularized` interpolates it.
                if text.isEmpty || Self.missingMarkers.contains(text) {
                    values[column].append(.nan)
                    column += 1
                    continue
                }
                guard let value = Float(text), value.isFinite else {
                    throw ParseError(
                        path: path, line: offset + 2, problem: "column '\(names[column])': '\(field)' is not a number")
                }
                values[column].append(value)
                column += 1
            }
        }
        guard timestamps.count >= 2 else { throw ParseError(path: path, line: 0, problem: "needs at least two rows") }
        return TimeSeriesTable(
            timestamps: timestamps, columns: Dictionary(uniqueKeysWithValues: zip(names, values)), columnNames: names)
    }

    static func parseTimestamp(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        var clock = String(parts[1])
        if clock.hasSuffix("Z") { clock.removeLast() }
        let timeParts = clock.split(separator: ":")
        guard date.count == 3, timeParts.count == 2 || timeParts.count == 3,
            let hour = Int(timeParts[0]), let minute = Int(timeParts[1])
        else { return nil }
        let seconds = timeParts.count > 2 ? (Double(timeParts[2]) ?? -1) : 0
        // Range-checked before any conversion: a field of 1e300 seconds is refused, not trapped on.
        guard (1970...9999).contains(date[0]), (1...12).contains(date[1]), (1...31).contains(date[2]),
            (0...23).contains(hour), (0...59).contains(minute), seconds >= 0, seconds < 61
        else { return nil }
        var components = DateComponents()
        components.year = date[0]
        components.month = date[1]
        components.day = date[2]
        components.hour = hour
        components.minute = minute
        components.second = Int(seconds)
        components.nanosecond = Int((seconds - Double(Int(seconds))) * 1e9)
        components.timeZone = TimeZone(identifier: "UTC")
        return utcCalendar.date(from: components)
    }

    public static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// Writes the table as CSV (timestamps as `YYYY-MM-DD HH:MM:SS`).
    public func csv() -> String {
        var text = "timestamp," + columnNames.joined(separator: ",") + "\n"
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        for row in 0..<count {
            text += formatter.string(from: timestamps[row])
            for name in columnNames { text += ",\(columns[name]![row])" }
            text += "\n"
        }
        return text
    }
}
