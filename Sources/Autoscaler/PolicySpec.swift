import Foundation
import KubeCore

/// A ScalingPolicy's spec (forescale.io/v1alpha1), with every default the CRD declares, so
/// a policy created without schema defaulting still means the same thing.
public struct PolicySpec: Sendable, Equatable {
    public enum Mode: String, Sendable {
        /// Target tracking on the forecast load over the lead time.
        case predictive = "Predictive"
        /// The prototype's rule on predicted per-instance CPU: +1 above, −1 below.
        case threshold = "Threshold"
        /// Target tracking on the current load (also the fallback).
        case reactive = "Reactive"
        /// Computes and records everything, never acts.
        case forecastOnly = "ForecastOnly"
    }

    public enum TargetKind: String, Sendable {
        case simulated = "Simulated"
        case deployment = "Deployment"
        case autoScalingGroup = "AutoScalingGroup"
    }

    public var targetKind: TargetKind
    public var targetName: String
    public var region: String?
    public var minCapacity: Int
    public var maxCapacity: Int
    public var mode: Mode
    public var suspend: Bool
    /// Per-instance utilisation (%) to plan for.
    public var targetUtilization: Double
    public var scaleUpAbove: Double
    public var scaleDownBelow: Double
    public var leadTimeSeconds: Double
    public var quantile: Double
    public var stepSeconds: Double
    /// Metrics older than this are stale: no scale-in.
    public var staleAfterSeconds: Double
    public var modelArtefact: String?
    public var modelMaxAgeSeconds: Double
    /// The accuracy gate: the model's holdout MAE must not exceed this × the seasonal-naive MAE.
    public var modelMaxMAERatio: Double
    public var calendarConfigMap: String?
    public var calendarKey: String
    /// Defaults of spec.forecast (the dashboard and the backtest fall back to them too).
    public static let defaultQuantile = 0.8
    public static let defaultLeadTimeSeconds = 300.0
    /// The calendar floor lasts until an event ends (true) or until its ramp has settled.
    public var holdThroughEvent = false
    public var scaleUpMaxStep: Int
    public var scaleUpCooldownSeconds: Double
    public var scaleDownMaxStep: Int
    public var scaleDownCooldownSeconds: Double
    public var stabilizationWindowSeconds: Double
    /// Simulated targets: the trace, the start offset into it, warm-up, initial capacity.
    public var simulation: SimulationSpec?
    /// CloudWatch metric of an AutoScalingGroup target (per-instance utilisation).
    public var cloudWatch: CloudWatchSpec = CloudWatchSpec()

    public struct CloudWatchSpec: Sendable, Equatable {
        public var namespace = "AWS/EC2"
        public var metricName = "CPUUtilization"
        public var statistic = "Average"
        /// Empty: AutoScalingGroupName = the target's name.
        public var dimensions: [String: String] = [:]
    }

    public struct SimulationSpec: Sendable, Equatable {
        /// "seed" (the prototype's generator), or a CSV path with a `load` or `value` column.
        public var trace: String
        public var loadScale: Double
        public var initialCapacity: Int
        public var warmupSeconds: Double
        public var startOffsetSteps: Int
    }

    /// Parses and validates; the errors name the field as the API server would.
    public static func parse(_ spec: JSONValue?) -> Result<PolicySpec, InvalidSpec> {
        var problems: [String] = []
        let spec = spec ?? [:]
        func number(_ path: [String], _ fallback: Double) -> Double {
            switch spec.value(at: path) {
            case .integer(let value)?: return Double(value)
            case .number(let value)?: return value
            case nil: return fallback
            default:
                problems.append("spec.\(path.joined(separator: ".")): must be a number")
                return fallback
            }
        }
        func integer(_ path: [String], _ fallback: Int) -> Int {
            guard let value = spec.value(at: path) else { return fallback }
            guard let integer = value.intValue else {
                problems.append("spec.\(path.joined(separator: ".")): must be an integer")
                return fallback
            }
            return integer
        }
        let kindText = spec.value(at: ["target", "kind"])?.stringValue ?? ""
        let kind = TargetKind(rawValue: kindText)
        if kind == nil { problems.append("spec.target.kind: must be one of Simulated, Deployment, AutoScalingGroup (got \"\(kindText)\")") }
        let name = spec.value(at: ["target", "name"])?.stringValue ?? ""
        if name.isEmpty { problems.append("spec.target.name: required") }
        let modeText = spec["mode"]?.stringValue ?? "Predictive"
        let mode = Mode(rawValue: modeText)
        if mode == nil { problems.append("spec.mode: must be one of Predictive, Threshold, Reactive, ForecastOnly (got \"\(modeText)\")") }
        var policy = PolicySpec(
            targetKind: kind ?? .simulated, targetName: name, region: spec.value(at: ["target", "region"])?.stringValue,
            minCapacity: integer(["minCapacity"], 1), maxCapacity: integer(["maxCapacity"], 10),
            mode: mode ?? .predictive, suspend: spec["suspend"]?.boolValue ?? false,
            targetUtilization: number(["targetUtilization"], 60),
            scaleUpAbove: number(["thresholds", "scaleUpAbove"], 70), scaleDownBelow: number(["thresholds", "scaleDownBelow"], 35),
            leadTimeSeconds: number(["forecast", "leadTimeSeconds"], Self.defaultLeadTimeSeconds), quantile: number(["forecast", "quantile"], Self.defaultQuantile),
            stepSeconds: number(["metrics", "stepSeconds"], 300), staleAfterSeconds: number(["metrics", "staleAfterSeconds"], 900),
            modelArtefact: spec.value(at: ["model", "artefact"])?.stringValue,
            modelMaxAgeSeconds: number(["model", "maxAgeSeconds"], 14 * 86_400), modelMaxMAERatio: number(["model", "maxMAERatio"], 1.0),
            calendarConfigMap: spec.value(at: ["calendar", "configMapRef", "name"])?.stringValue,
            calendarKey: spec.value(at: ["calendar", "configMapRef", "key"])?.stringValue ?? "events.json",
            scaleUpMaxStep: integer(["behavior", "scaleUp", "maxStep"], 4), scaleUpCooldownSeconds: number(["behavior", "scaleUp", "cooldownSeconds"], 120),
            scaleDownMaxStep: integer(["behavior", "scaleDown", "maxStep"], 1), scaleDownCooldownSeconds: number(["behavior", "scaleDown", "cooldownSeconds"], 300),
            stabilizationWindowSeconds: number(["behavior", "scaleDown", "stabilizationWindowSeconds"], 900),
            simulation: nil
        )
        policy.holdThroughEvent = spec.value(at: ["calendar", "holdThroughEvent"])?.boolValue ?? false
        if let cloudWatch = spec.value(at: ["metrics", "cloudwatch"]) {
            policy.cloudWatch.namespace = cloudWatch["namespace"]?.stringValue ?? policy.cloudWatch.namespace
            policy.cloudWatch.metricName = cloudWatch["metricName"]?.stringValue ?? policy.cloudWatch.metricName
            policy.cloudWatch.statistic = cloudWatch["statistic"]?.stringValue ?? policy.cloudWatch.statistic
            policy.cloudWatch.dimensions = cloudWatch["dimensions"]?.stringMap ?? [:]
        }
        if policy.targetKind == .autoScalingGroup, policy.region == nil { problems.append("spec.target.region: required for an AutoScalingGroup") }
        if let simulation = spec.value(at: ["target", "simulation"]) {
            policy.simulation = SimulationSpec(
                trace: simulation["trace"]?.stringValue ?? "seed",
                loadScale: simulation["loadScale"]?.doubleValue ?? 4,
                initialCapacity: simulation["initialCapacity"]?.intValue ?? policy.minCapacity,
                warmupSeconds: simulation["warmupSeconds"].flatMap { $0.intValue.map(Double.init) } ?? 300,
                startOffsetSteps: simulation["startOffsetSteps"]?.intValue ?? 576
            )
        } else if policy.targetKind == .simulated {
            problems.append("spec.target.simulation: required for a Simulated target")
        }
        if policy.minCapacity < 0 { problems.append("spec.minCapacity: must be ≥ 0") }
        if policy.maxCapacity < max(1, policy.minCapacity) { problems.append("spec.maxCapacity: must be ≥ minCapacity and ≥ 1") }
        if !(1...100).contains(policy.targetUtilization) { problems.append("spec.targetUtilization: must be in 1…100") }
        if policy.scaleDownBelow >= policy.scaleUpAbove { problems.append("spec.thresholds: scaleDownBelow must be below scaleUpAbove") }
        if !(0.01...0.99).contains(policy.quantile) { problems.append("spec.forecast.quantile: must be in 0.01…0.99") }
        if policy.stepSeconds < 1 { problems.append("spec.metrics.stepSeconds: must be ≥ 1") }
        if policy.leadTimeSeconds < 0 { problems.append("spec.forecast.leadTimeSeconds: must be ≥ 0") }
        if policy.scaleUpMaxStep < 1 || policy.scaleDownMaxStep < 1 { problems.append("spec.behavior: maxStep must be ≥ 1") }
        if let artefact = policy.modelArtefact, !(artefact.hasPrefix("file://") || artefact.hasPrefix("s3://")) {
            problems.append("spec.model.artefact: must be a file:// or s3:// URL")
        }
        return problems.isEmpty ? .success(policy) : .failure(InvalidSpec(problems: problems))
    }
}

public struct InvalidSpec: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "; ") }
}
