import Foundation

/// What to do, and why — `decide`'s answer, compared in tests.
public struct Plan: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case scale(to: Int)
        case hold
    }

    /// The rule that produced the recommendation.
    public enum Basis: String, Sendable, Equatable {
        case predictive = "Predictive"
        case threshold = "Threshold"
        case reactive = "Reactive"
        /// No forecast and no fresh load: the capacity stays.
        case noMetrics = "NoMetrics"
    }

    /// A rule that changed the recommendation on its way to the final capacity.
    public enum Limit: String, Sendable, Equatable, CaseIterable {
        case calendarPrewarm = "CalendarPrewarm"
        case minCapacity = "MinCapacity"
        case maxCapacity = "MaxCapacity"
        case scaleUpCooldown = "ScaleUpCooldown"
        case maxStepUp = "MaxStepUp"
        case metricsUnavailable = "MetricsUnavailable"
        case stabilizationWindow = "StabilizationWindow"
        case scaleDownCooldown = "ScaleDownCooldown"
        case maxStepDown = "MaxStepDown"
        /// The load is within the tolerance of what the current capacity serves at target.
        case tolerance = "WithinTolerance"
    }

    /// Why the final capacity is what it is (CamelCase, for status and Events).
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        case forecastAboveTarget
        case forecastBelowTarget
        case predictedCPUAboveThreshold
        case predictedCPUBelowThreshold
        case loadAboveTarget
        /// A fast check between steps: the newest load needs more than is set.
        case presentLoadAboveTarget
        case loadBelowTarget
        case calendarPrewarm
        /// The capacity would have changed but a limit held it.
        case held(by: Limit)
        case steady
        case suspended
        case forecastOnly

        public var description: String {
            switch self {
            case .forecastAboveTarget: "ForecastAboveTarget"
            case .forecastBelowTarget: "ForecastBelowTarget"
            case .predictedCPUAboveThreshold: "PredictedCPUAboveThreshold"
            case .predictedCPUBelowThreshold: "PredictedCPUBelowThreshold"
            case .loadAboveTarget: "LoadAboveTarget"
            case .presentLoadAboveTarget: "PresentLoadAboveTarget"
            case .loadBelowTarget: "LoadBelowTarget"
            case .calendarPrewarm: "CalendarPrewarm"
            case .held(let limit): limit.rawValue
            case .steady: "Steady"
            case .suspended: "Suspended"
            case .forecastOnly: "ForecastOnly"
            }
        }
    }

    public var action: Action
    /// The capacity the policy wants now (after every rule); equals the current one on hold.
    public var desired: Int
    /// The raw recommendation before bounds, steps, cooldowns and stabilization.
    public var recommendation: Int
    public var basis: Basis
    public var reason: Reason
    /// Limits that changed the answer, in the order they applied.
    public var limits: [Limit]
    /// Non-nil when the policy's mode could not be used (model unusable): why.
    public var fallback: ModelProblem?
    /// The forecast load the decision used (quantile over the lead time), if any.
    public var forecastLoad: Double?
    public var metricsAvailable: Bool
}
