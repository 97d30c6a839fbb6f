import Foundation
import KubeCore
import PolicyEngine

/// The dashboard's JSON API (`/api/v1/policies`, `/api/v1/policies/{ns}/{name}/history`),
/// built from the policy objects, the controller's in-memory history and the policy's Events.
/// Field names follow Kubernetes (camelCase); times are RFC 3339; absent values are null.
public enum DashboardAPI {
    /// One row of the policy list.
    public static func summary(_ policy: JSONValue) -> JSONValue {
        let spec = policy["spec"] ?? [:]
        let status = policy["status"] ?? [:]
        let conditions = status["conditions"]?.arrayValue ?? []
        func condition(_ type: ConditionType) -> JSONValue? {
            conditions.first { $0["type"]?.stringValue == type.rawValue }
        }
        let modelCondition = condition(.modelReady)
        var model: [String: JSONValue] = [
            "artefact": spec.value(at: ["model", "artefact"]) ?? .null,
            "ready": modelCondition.map { .bool($0["status"]?.stringValue == "True") } ?? .null,
            "reason": modelCondition?["reason"] ?? .null,
            "message": modelCondition?["message"] ?? .null,
        ]
        for field in ["version", "trainedAt", "loadedAt", "holdoutMAE", "baselineMAE"] {
            model[field] = status.value(at: ["model", field]) ?? .null
        }
        return [
            "namespace": policy.value(at: ["metadata", "namespace"]) ?? "default",
            "name": policy.value(at: ["metadata", "name"]) ?? "",
            "mode": spec["mode"] ?? "Predictive",
            "basis": status["mode"] ?? .null,
            "target": [
                "kind": spec.value(at: ["target", "kind"]) ?? .null,
                "name": spec.value(at: ["target", "name"]) ?? .null,
            ],
            "minCapacity": spec["minCapacity"] ?? .null,
            "maxCapacity": spec["maxCapacity"] ?? .null,
            "targetUtilization": spec["targetUtilization"] ?? .null,
            "currentCapacity": status["currentCapacity"] ?? .null,
            "inServiceCapacity": status["inServiceCapacity"] ?? .null,
            "desiredCapacity": status["desiredCapacity"] ?? .null,
            "currentLoad": status["currentLoad"] ?? .null,
            "ready": condition(.ready).map { .bool($0["status"]?.stringValue == "True") } ?? .null,
            "conditions": .array(
                conditions.map { item in
                    [
                        "type": item["type"] ?? .null, "status": item["status"] ?? .null,
                        "reason": item["reason"] ?? .null,
                        "message": item["message"] ?? .null, "lastTransitionTime": item["lastTransitionTime"] ?? .null,
                    ]
                }),
            "model": .object(model),
            "lastAction": status["lastAction"] ?? .null,
            "lastForecast": status["lastForecast"] ?? .null,
            "generation": policy.value(at: ["metadata", "generation"]) ?? .null,
            "observedGeneration": status["observedGeneration"] ?? .null,
        ]
    }

    /// `isReconciling`: this replica runs the controller (holds the lease) and so has history.
    public static func list(_ policies: [JSONValue], generatedAt: Date, isReconciling: Bool) -> JSONValue {
        let rows = policies.map(summary).sorted {
            ($0["namespace"]?.stringValue ?? "", $0["name"]?.stringValue ?? "") < (
                $1["namespace"]?.stringValue ?? "", $1["name"]?.stringValue ?? ""
            )
        }
        return [
            "generatedAt": .string(Timestamps.format(generatedAt)), "reconciling": .bool(isReconciling),
            "policies": .array(rows),
        ]
    }

    /// A policy's page: summary, the charted series, actions, Events and promotions.
    /// `events` are core/v1 Events regarding the policy, in any order.
    public static func history(
        policy: JSONValue, samples: [PolicyHistory.Sample], actions: [ScalingAction], events: [JSONValue],
        generatedAt: Date
    ) -> JSONValue {
        let spec = policy["spec"] ?? [:]
        func number(_ value: Double?) -> JSONValue { value.map { .number(($0 * 100).rounded() / 100) } ?? .null }
        func time(_ date: Date?) -> JSONValue { date.map { .string(Timestamps.format($0)) } ?? .null }
        let series: [JSONValue] = samples.map { sample in
            [
                "time": time(sample.time), "load": number(sample.load), "forecastTime": time(sample.forecastTime),
                "forecast": number(sample.forecast), "median": number(sample.median), "low": number(sample.low),
                "high": number(sample.high),
                "currentCapacity": .integer(Int64(sample.currentCapacity)),
                "inServiceCapacity": .integer(Int64(sample.inServiceCapacity)),
                "desiredCapacity": .integer(Int64(sample.desiredCapacity)),
            ]
        }
        let recentEvents = events.map(event).sorted {
            ($0["lastTime"]?.stringValue ?? "") > ($1["lastTime"]?.stringValue ?? "")
        }
        let promotions = recentEvents.filter {
            [EventReason.modelPromoted, .modelRejected].map(\.description).contains($0["reason"]?.stringValue ?? "")
        }
        return [
            "generatedAt": time(generatedAt),
            "forecastCoverage": coverage(samples).map { .number(($0 * 1000).rounded() / 1000) } ?? .null,
            "policy": summary(policy),
            "forecastQuantile": spec.value(at: ["forecast", "quantile"]) ?? .number(PolicySpec.defaultQuantile),
            "leadTimeSeconds": spec.value(at: ["forecast", "leadTimeSeconds"])
                ?? .integer(Int64(PolicySpec.defaultLeadTimeSeconds)),
            "samples": .array(series),
            "actions": .array(
                actions.map {
                    [
                        "time": time($0.time), "from": .integer(Int64($0.from)), "to": .integer(Int64($0.to)),
                        "reason": .string($0.reason),
                    ]
                }),
            "events": .array(Array(recentEvents.prefix(50))),
            "training": policy.value(at: ["status", "training"]) ?? .null,
            "promotions": .array(promotions),
        ]
    }

    /// The share of forecasts in `samples` whose load, when it came, was at or below them
    /// (the policy's quantile: a calibrated p80 covers about 0.8); nil before any came.
    public static func coverage(_ samples: [PolicyHistory.Sample]) -> Double? {
        var loads: [Date: Double] = [:]
        for sample in samples { if let load = sample.load { loads[sample.time] = load } }
        let times = loads.keys.sorted()
        var score = Scorecard()
        for sample in samples {
            guard let at = sample.forecastTime, let forecast = sample.forecast else { continue }
            // The reconcile nearest the forecast's time, within a minute.
            guard let nearest = times.min(by: { abs($0.timeIntervalSince(at)) < abs($1.timeIntervalSince(at)) }),
                abs(nearest.timeIntervalSince(at)) <= 60, let load = loads[nearest]
            else { continue }
            score.forecast(forecast, outcome: load)
        }
        return score.coverage
    }

    /// A core/v1 Event as the dashboard shows it.
    static func event(_ object: JSONValue) -> JSONValue {
        let last =
            object["lastTimestamp"]?.stringValue ?? object.value(at: ["series", "lastObservedTime"])?.stringValue
            ?? object["eventTime"]?.stringValue
            ?? object.value(at: ["metadata", "creationTimestamp"])?.stringValue
        return [
            "type": object["type"] ?? .null, "reason": object["reason"] ?? .null,
            "message": object["message"] ?? object["note"] ?? .null,
            "count": object["count"] ?? object.value(at: ["series", "count"]) ?? .integer(1),
            "lastTime": last.map(JSONValue.string) ?? .null,
            "source": object.value(at: ["source", "component"]) ?? object["reportingComponent"] ?? .null,
        ]
    }
}
