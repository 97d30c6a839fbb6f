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
        let events: [CalendarEvent]
        do { events = try decoder.decode([CalendarEvent].self, from: data) } catch {
            throw ParseError(detail: "not a valid events list: \(error)")
        }
        for event in events where event.end <= event.start {
            throw ParseError(detail: "event '\(event.name)' ends before it starts")
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
