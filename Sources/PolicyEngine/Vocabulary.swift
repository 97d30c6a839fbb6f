/// The words the controller and the trainer write where people read them — condition types,
/// condition reasons, Event reasons and actions — each with its wire name, so none is a
/// string literal at a call site.

/// A policy's conditions, by their wire names.
public enum ConditionType: String, Sendable, CaseIterable {
    /// The controller could decide (False: a problem a person must fix or wait out, named by the reason).
    case ready = "Ready"
    /// The model named loaded and fits the spec.
    case modelReady = "ModelReady"
    /// True while a Predictive or Threshold policy decides by Reactive target tracking instead.
    case fallback = "Fallback"
    /// The load is fresh (False: scale-in is suspended).
    case metricsAvailable = "MetricsAvailable"
    /// A limit (bounds, cooldown, step, stabilization) held the desired capacity.
    case scalingLimited = "ScalingLimited"
}

/// Why a pass could not decide or act (Ready=False's reason and the Event's), by wire name.
public enum FailureReason: String, Sendable, CaseIterable {
    case invalidSpec = "InvalidSpec"
    case accessDenied = "AccessDenied"
    case targetUnavailable = "TargetUnavailable"
    case scalingFailed = "ScalingFailed"
    case calendarUnreadable = "CalendarUnreadable"
}

/// Why the metrics could not be read (MetricsAvailable's and, when a person must act, Ready's reason).
public enum MetricsProblemReason: String, Sendable, CaseIterable {
    /// The source failed in a way not named below (the message quotes it).
    case metricsUnavailable = "MetricsUnavailable"
    /// A covariate the policy names has no data.
    case inputUnavailable = "InputUnavailable"
    /// A query answers with more than one series.
    case ambiguousQuery = "AmbiguousQuery"
    case prometheusUnreachable = "PrometheusUnreachable"
    case prometheusQueryRejected = "PrometheusQueryRejected"
    case prometheusAnswerUnreadable = "PrometheusAnswerUnreadable"
    case prometheusCredentials = "PrometheusCredentials"
}

/// A condition's reason: the healthy states by name, the problems by their own vocabularies.
public enum ConditionReason: Sendable, Equatable, CustomStringConvertible {
    case reconciled
    case modelLoaded
    case usingModel
    case metricsFresh
    case metricsStale
    case noMetrics
    case notLimited
    case failure(FailureReason)
    case model(ModelProblem)
    case metrics(MetricsProblemReason)
    case limit(Plan.Limit)

    public var description: String {
        switch self {
        case .reconciled: "Reconciled"
        case .modelLoaded: "ModelLoaded"
        case .usingModel: "UsingModel"
        case .metricsFresh: "MetricsFresh"
        case .metricsStale: "MetricsStale"
        case .noMetrics: "NoMetrics"
        case .notLimited: "NotLimited"
        case .failure(let reason): reason.rawValue
        case .model(let problem): problem.rawValue
        case .metrics(let reason): reason.rawValue
        case .limit(let limit): limit.rawValue
        }
    }
}

/// An Event's reason: an action taken, a model change, or a condition that flipped.
public enum EventReason: Sendable, Equatable, CustomStringConvertible {
    case scaledUp
    case scaledDown
    /// The controller serves a new version of a policy's model.
    case modelLoaded
    /// The trainer's gate promoted (or rejected) a challenger.
    case modelPromoted
    case modelRejected
    case condition(ConditionReason)

    public var description: String {
        switch self {
        case .scaledUp: "ScaledUp"
        case .scaledDown: "ScaledDown"
        case .modelLoaded: "ModelLoaded"
        case .modelPromoted: "ModelPromoted"
        case .modelRejected: "ModelRejected"
        case .condition(let reason): reason.description
        }
    }
}

/// What the writer was doing when an Event happened (events.k8s.io `action`).
public enum EventAction: String, Sendable {
    case reconcile = "Reconcile"
    case scale = "Scale"
    case train = "Train"
}

// Interpolated, each says its wire name (not the Swift case name).
extension ConditionType: CustomStringConvertible { public var description: String { rawValue } }
extension FailureReason: CustomStringConvertible { public var description: String { rawValue } }
extension MetricsProblemReason: CustomStringConvertible { public var description: String { rawValue } }
extension EventAction: CustomStringConvertible { public var description: String { rawValue } }
extension PromotionGate.Reason: CustomStringConvertible { public var description: String { rawValue } }
