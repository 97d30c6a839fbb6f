import Foundation
import KubeCore

/// Reading and writing the ScalingPolicy status JSON.
enum PolicyStatus {
    static func date(_ value: JSONValue?) -> Date? {
        value?.stringValue.flatMap(Timestamps.parse)
    }

    static func conditions(_ status: JSONValue) -> [Condition] {
        (status["conditions"]?.arrayValue ?? []).compactMap { item in
            guard let type = item["type"]?.stringValue, let raw = item["status"]?.stringValue, let value = Condition.Status(rawValue: raw) else { return nil }
            return Condition(type: type, status: value, observedGeneration: item["observedGeneration"]?.intValue,
                             lastTransitionTime: date(item["lastTransitionTime"]) ?? Date(timeIntervalSince1970: 0),
                             reason: item["reason"]?.stringValue ?? "", message: item["message"]?.stringValue ?? "")
        }
    }

    static func recommendations(_ status: JSONValue) -> [Observation.Recommendation] {
        (status["recommendations"]?.arrayValue ?? []).compactMap { item in
            guard let time = date(item["time"]), let capacity = item["capacity"]?.intValue else { return nil }
            return Observation.Recommendation(time: time, capacity: capacity)
        }
    }

    static func with(_ status: JSONValue, conditions: [Condition], observedGeneration: Int) -> JSONValue {
        var status = status.objectValue.map(JSONValue.object) ?? .object([:])
        status["observedGeneration"] = .integer(Int64(observedGeneration))
        status["conditions"] = .array(conditions.map { condition in
            var item: [String: JSONValue] = [
                "type": .string(condition.type), "status": .string(condition.status.rawValue),
                "lastTransitionTime": .string(Timestamps.format(condition.lastTransitionTime)),
                "reason": .string(condition.reason), "message": .string(condition.message),
            ]
            if let generation = condition.observedGeneration { item["observedGeneration"] = .integer(Int64(generation)) }
            return .object(item)
        })
        return status
    }
}
