import Forecasting
import Foundation
import KubeCore
import PolicyEngine

/// Policies side by side over the window they were all reconciled in, measured as the
/// backtest measures: overload intervals (utilisation above the SLO), instance-hours of the
/// capacity set, scaling actions, and how each met a calendar event (the capacity in service
/// when it began, overloads while it ran). The demo prints it when it ends; the dashboard
/// shows it live.
public struct PolicyComparison: Sendable {
    public struct Input: Sendable {
        public var key: String
        public var mode: String
        public var samples: [PolicyHistory.Sample]
        public var actions: [ScalingAction]

        public init(key: String, mode: String, samples: [PolicyHistory.Sample], actions: [ScalingAction]) {
            self.key = key
            self.mode = mode
            self.samples = samples
            self.actions = actions
        }
    }

    public struct Row: Sendable, Equatable {
        public var key: String
        public var mode: String
        public var overloadIntervals: Int
        public var instanceHours: Double
        public var actions: Int
        /// In service when the event began (nil: no event began in the window).
        public var capacityAtEventStart: Int?
        public var overloadsDuringEvent: Int?
    }

    public var start: Date
    public var end: Date
    public var slo: Double
    /// The first calendar event that began inside the window.
    public var event: CalendarEvent?
    public var rows: [Row]

    /// nil when fewer than two samples are common to the policies.
    public init?(_ inputs: [Input], slo: Double, events: [CalendarEvent]) {
        let withSamples = inputs.filter { $0.samples.count > 1 }
        guard let start = withSamples.map({ $0.samples[0].time }).max(),
            let end = withSamples.map({ $0.samples[$0.samples.count - 1].time }).min(), end > start
        else { return nil }
        self.start = start
        self.end = end
        self.slo = slo
        let event = events.filter { $0.start >= start && $0.start < end }.min { $0.start < $1.start }
        self.event = event
        rows = withSamples.map { input in
            let samples = input.samples.filter { $0.time >= start && $0.time <= end }
            // Each sample is an interval until the next (the last one's is empty: its load still counts).
            var score = Scorecard(slo: slo)
            for (index, sample) in samples.enumerated() {
                let seconds = index + 1 < samples.count ? samples[index + 1].time.timeIntervalSince(sample.time) : 0
                score.interval(
                    load: sample.load, inService: sample.inServiceCapacity, paid: sample.currentCapacity,
                    seconds: seconds)
            }
            func overloaded(_ sample: PolicyHistory.Sample) -> Bool {
                score.isOverloaded(load: sample.load, inService: sample.inServiceCapacity)
            }
            var atStart: Int?
            var during: Int?
            if let event {
                atStart = samples.first { $0.time >= event.start }?.inServiceCapacity
                during = samples.filter { $0.time >= event.start && $0.time < event.end && overloaded($0) }.count
            }
            return Row(
                key: input.key, mode: input.mode, overloadIntervals: score.overloadIntervals,
                instanceHours: score.instanceHours,
                actions: input.actions.filter { $0.time >= start && $0.time <= end }.count,
                capacityAtEventStart: atStart, overloadsDuringEvent: during)
        }
    }

    public var json: JSONValue {
        [
            "start": .string(Timestamps.format(start)), "end": .string(Timestamps.format(end)), "slo": .number(slo),
            "event": event.map {
                ["name": .string($0.name), "start": .string(Timestamps.format($0.start))] as JSONValue
            } ?? .null,
            "policies": .array(
                rows.map { row in
                    [
                        "policy": .string(row.key), "mode": .string(row.mode),
                        "overloadIntervals": .integer(Int64(row.overloadIntervals)),
                        "instanceHours": .number((row.instanceHours * 10).rounded() / 10),
                        "actions": .integer(Int64(row.actions)),
                        "capacityAtEventStart": row.capacityAtEventStart.map { .integer(Int64($0)) } ?? .null,
                        "overloadsDuringEvent": row.overloadsDuringEvent.map { .integer(Int64($0)) } ?? .null,
                    ]
                }),
        ]
    }

    /// Header and cells for a text table.
    public var table: [[String]] {
        var header = ["policy", "mode", "overload intervals", "instance-hours", "actions"]
        if let event { header += ["in service at \(event.name) start", "overloads during \(event.name)"] }
        return [header]
            + rows.map { row in
                var cells = [
                    row.key, row.mode, String(row.overloadIntervals), String(format: "%.1f", row.instanceHours),
                    String(row.actions),
                ]
                if event != nil {
                    cells += [
                        row.capacityAtEventStart.map(String.init) ?? "–",
                        row.overloadsDuringEvent.map(String.init) ?? "–",
                    ]
                }
                return cells
            }
    }

    public var hours: Double { end.timeIntervalSince(start) / 3600 }
}
