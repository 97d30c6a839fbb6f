/// An Event `step` asks the controller to record: what a person wants to know — scaling
/// actions, fallbacks, model changes, invalid specs, failures. Limits are not Events (they
/// live in the ScalingLimited condition). The recorder aggregates repeats into a series.
public struct EventIntent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case normal = "Normal"
        case warning = "Warning"
    }

    public var type: Kind
    public var reason: EventReason
    public var action: EventAction
    public var note: String

    public init(type: Kind, reason: EventReason, action: EventAction, note: String) {
        self.type = type
        self.reason = reason
        self.action = action
        self.note = note
    }
}
