import Autoscaler
import Forecasting
import Foundation
import KubeCore
import PolicyEngine

/// The demo's world, shared with the end-to-end tests: the prototype's synthetic trace as
/// load (CPU × 4 instances), replayed from day 19, four virtual hours before the sale on
/// day 20 (the default model was trained on days 1–18); a calendar of the sale days; and
/// policies on simulated targets.
public enum SeedScenario {
    public static let startOffsetSteps = 18 * 288 + 240
    public static let loadScale = 4.0
    public static let saleMultiplier = 2.9

    /// Virtual time at the start: the trace is shifted by whole weeks to land near `anchor`.
    public static func virtualStart(anchor: Date) throws -> (start: Date, shiftedTraceStart: Date) {
        let trace = try TraceLibrary.trace("seed", loadScale: loadScale)
        let shifted = SimulationPlugin.shiftedStart(
            traceStart: trace.start, step: trace.step, offsetSteps: startOffsetSteps, anchor: anchor)
        return (shifted.addingTimeInterval(Double(startOffsetSteps) * trace.step), shifted)
    }

    /// The sale days in shifted time.
    public static func events(anchor: Date) throws -> [CalendarEvent] {
        let trace = try TraceLibrary.trace("seed", loadScale: loadScale)
        let shift = try virtualStart(anchor: anchor).shiftedTraceStart.timeIntervalSince(trace.start)
        return BusinessCalendar.events(
            timestamps: trace.table.timestamps.map { $0.addingTimeInterval(shift) },
            flags: trace.table.columns["is_sale_active"]!, step: trace.step, prefix: "sale-day",
            multiplier: saleMultiplier)
    }

    public static func calendarConfigMap(anchor: Date, name: String = "shop-calendar") throws -> JSONValue {
        [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": .string(name), "labels": .object([CalendarConfigMap.label: "true"])],
            "data": [
                "events.json": .string(
                    String(decoding: BusinessCalendar.encode(try events(anchor: anchor)), as: UTF8.self))
            ],
        ]
    }

    public static func policy(
        name: String, mode: String, modelURL: String?, calendar: String?, initialCapacity: Int = 2
    ) -> JSONValue {
        var spec: JSONValue = [
            "target": [
                "kind": "Simulated", "name": .string(name),
                "simulation": [
                    "trace": "seed", "loadScale": .number(loadScale),
                    "initialCapacity": .integer(Int64(initialCapacity)),
                    "warmupSeconds": 300, "startOffsetSteps": .integer(Int64(startOffsetSteps)),
                ],
            ],
            "minCapacity": 2, "maxCapacity": 12, "mode": .string(mode), "targetUtilization": 60,
            "forecast": ["leadTimeSeconds": 300, "quantile": .number(0.8)],
        ]
        if let modelURL { spec["model"] = ["artefact": .string(modelURL)] }
        if let calendar { spec["calendar"] = ["configMapRef": ["name": .string(calendar), "key": "events.json"]] }
        return [
            "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "metadata": ["name": .string(name)],
            "spec": spec,
        ]
    }
}
