import Foundation

/// A status condition per the Kubernetes API conventions
/// (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#typical-status-properties):
/// CamelCase `type` and `reason`, `status` True/False/Unknown, and `lastTransitionTime`
/// that moves only when `status` changes.
public struct Condition: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case `true` = "True"
        case `false` = "False"
        case unknown = "Unknown"
    }

    public var type: String
    public var status: Status
    public var observedGeneration: Int?
    public var lastTransitionTime: Date
    public var reason: String
    public var message: String

    public init(
        type: String, status: Status, observedGeneration: Int? = nil, lastTransitionTime: Date, reason: String,
        message: String = ""
    ) {
        self.type = type
        self.status = status
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

public enum ConditionChange: Sendable, Equatable {
    /// Nothing changed: the caller should skip the status write.
    case unchanged
    /// Reason, message or observedGeneration changed, status did not.
    case updated
    /// The condition is new or its status flipped (worth an Event).
    case transitioned(from: Condition.Status?, to: Condition.Status)
}

extension Array where Element == Condition {
    /// Sets `condition` (matched by type). `lastTransitionTime` is kept unless the status
    /// changes; the result tells whether anything changed and whether the status flipped.
    @discardableResult
    public mutating func set(_ condition: Condition) -> ConditionChange {
        guard let index = firstIndex(where: { $0.type == condition.type }) else {
            append(condition)
            return .transitioned(from: nil, to: condition.status)
        }
        let existing = self[index]
        if existing.status != condition.status {
            self[index] = condition
            return .transitioned(from: existing.status, to: condition.status)
        }
        var updated = condition
        updated.lastTransitionTime = existing.lastTransitionTime
        if updated == existing { return .unchanged }
        self[index] = updated
        return .updated
    }

    public func condition(_ type: String) -> Condition? {
        first { $0.type == type }
    }
}
