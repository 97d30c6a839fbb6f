import Foundation

/// A known business event (a sale, a launch): the load is expected to change while it runs.
public struct CalendarEvent: Codable, Sendable, Equatable {
    public var name: String
    public var start: Date
    public var end: Date
    /// Expected load multiplier while the event runs (1 when unknown).
    public var multiplier: Double?

    public init(name: String, start: Date, end: Date, multiplier: Double? = nil) {
        self.name = name
        self.start = start
        self.end = end
        self.multiplier = multiplier
    }
}

/// The events list: JSON `[{"name", "start", "end", "multiplier"?}]` with ISO 8601 times
/// (the same document the calendar ConfigMap carries).
public enum BusinessCalendar {
    public struct ParseError: Error, CustomStringConvertible {
        public var detail: String
        public var description: String { detail }
    }

    /// What a calendar may hold: a ConfigMap value (at most 1 MiB in Kubernetes), events
    /// within 1970–9999, load multipliers that mean something (0.001…1000).
    public static let limits = (
        bytes: 1 << 20, events: 10_000, multiplier: 0.001...1000.0,
        dates: Date(timeIntervalSince1970: 0)...Date(timeIntervalSince1970: 253_402_300_799)
    )

    public static func parse(_ data: Data) throws(ParseError) -> [CalendarEvent] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = ISO8601DateFormatter().date(from: text) ?? TimeSeriesTable.parseTimestamp(text) {
                return date
            }
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "bad time '\(text)'"))
        }
        guard data.count <= limits.bytes else { throw ParseError(detail: "larger than \(limits.bytes) bytes") }
        let events: [CalendarEvent]
        do { events = try decoder.decode([CalendarEvent].self, from: data) } catch {
            throw ParseError(detail: "not a valid events list: \(error)")
        }
        guard events.count <= limits.events else {
            throw ParseError(detail: "\(events.count) events; at most \(limits.events)")
        }
        for (index, event) in events.enumerated() {
            let label = "event \(index) ('\(event.name.prefix(64))')"
            guard !event.name.isEmpty, event.name.utf8.count <= 253 else {
                throw ParseError(detail: "event \(index): name must be 1…253 bytes")
            }
            guard limits.dates.contains(event.start), limits.dates.contains(event.end) else {
                throw ParseError(detail: "\(label): start and end must lie between 1970 and 9999")
            }
            guard event.end > event.start else { throw ParseError(detail: "\(label) ends before it starts") }
            if let multiplier = event.multiplier, !(multiplier.isFinite && limits.multiplier.contains(multiplier)) {
                throw ParseError(
                    detail:
                        "\(label): multiplier \(multiplier) must be in \(limits.multiplier.lowerBound)…\(limits.multiplier.upperBound)"
                )
            }
        }
        return events.sorted { $0.start < $1.start }
    }

    /// Per timestamp: event active (0/1), hours until the next event starts (capped at
    /// `horizonHours`, divided by it: 1 = nothing soon), and the active multiplier (1 if none).
    public static func features(for timestamps: [Date], events: [CalendarEvent], horizonHours: Double = 168) -> (
        active: [Float], untilNext: [Float], multiplier: [Float]
    ) {
        var active: [Float] = []
        var until: [Float] = []
        var multiplier: [Float] = []
        for time in timestamps {
            let current = events.first { $0.start <= time && time < $0.end }
            active.append(current == nil ? 0 : 1)
            multiplier.append(Float(current?.multiplier ?? 1))
            let next = events.first { $0.start > time }
            let hours = next.map { $0.start.timeIntervalSince(time) / 3600 } ?? horizonHours
            until.append(Float(min(hours, horizonHours) / horizonHours))
        }
        return (active, until, multiplier)
    }
}

extension BusinessCalendar {
    /// Events from a 0/1 flag column: one event per run of 1s (`prefix-1`, `prefix-2`, …).
    public static func events(timestamps: [Date], flags: [Float], step: Double, prefix: String, multiplier: Double?)
        -> [CalendarEvent]
    {
        var events: [CalendarEvent] = []
        var runStart: Int?
        for index in 0...flags.count {
            let active = index < flags.count && flags[index] > 0.5
            if active, runStart == nil { runStart = index }
            if !active, let start = runStart {
                events.append(
                    CalendarEvent(
                        name: "\(prefix)-\(events.count + 1)", start: timestamps[start],
                        end: timestamps[index - 1].addingTimeInterval(step), multiplier: multiplier))
                runStart = nil
            }
        }
        return events
    }

    /// The events as the JSON `parse` reads (RFC 3339 times).
    public static func encode(_ events: [CalendarEvent]) -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(events)) ?? Data("[]".utf8)
    }
}
