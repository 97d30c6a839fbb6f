import Forecasting
import Foundation
import KubeCore

/// A ScalingPolicy's spec (forescale.io/v1alpha1), parsed and range-checked through
/// `SpecFields`, with the CRD's defaults — so a policy created without schema defaulting,
/// or against an older CRD, still means the same thing and can never make the controller
/// trap on a number.
public struct PolicySpec: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Target tracking on the forecast load over the lead time.
        case predictive = "Predictive"
        /// The prototype's rule on predicted per-instance CPU: +1 above, −1 below.
        case threshold = "Threshold"
        /// Target tracking on the current load (also the fallback).
        case reactive = "Reactive"
        /// Computes and records everything, never acts.
        case forecastOnly = "ForecastOnly"

        /// Whether the mode forecasts (and so needs a model).
        public var usesModel: Bool { self != .reactive }
    }

    public enum TargetKind: String, Sendable, CaseIterable {
        case simulated = "Simulated"
        case deployment = "Deployment"
        case autoScalingGroup = "AutoScalingGroup"
    }

    /// Where the load history comes from.
    public enum MetricsBackend: String, Sendable, CaseIterable {
        /// The target's own trace replay (`spec.target.simulation`).
        case simulated
        /// CloudWatch (`spec.metrics.cloudwatch`), for AutoScalingGroup targets.
        case cloudwatch
        /// A Prometheus server (`spec.metrics.prometheus`).
        case prometheus

        /// The default when `spec.metrics.source` is absent: the simulation when the policy
        /// has one, CloudWatch for an Auto Scaling group, otherwise Prometheus.
        public static func `default`(for kind: TargetKind, hasSimulation: Bool) -> MetricsBackend {
            if hasSimulation { return .simulated }
            return kind == .autoScalingGroup ? .cloudwatch : .prometheus
        }
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
    /// Forecast steps recorded in status and charted; the trainer's horizon is at least this.
    public var horizonSteps: Int
    /// How far ahead capacity is decided: as set, else (see `leadTime(learned:)`) the target's measured
    /// launch-to-ready p90, else `defaultLeadTimeSeconds`.
    public var leadTimeSeconds: Double
    /// Whether the spec sets `forecast.leadTimeSeconds` (else it is learned).
    public var leadTimeIsSet = true
    public var quantile: Double
    /// The per-instance utilisation (%) the forecast's quantile is sized at — the SLO's, so
    /// that an interval goes over it with probability ≈ 1 − quantile; target tracking on the
    /// present load (at `targetUtilization`) stays the floor. Unset: `effectiveSizingUtilization`.
    public var sizingUtilization: Double? = nil

    /// Points above the target an unset `sizingUtilization` sizes the forecast at: chosen on the repository's
    /// traces (docs/forecasting.md), where +5 meets the outcome goal (half Reactive's overloads at most +5 %
    /// instance-hours, in aggregate) and sizing at the target pays +6 %.
    public static let defaultSizingMargin = 5.0

    /// `sizingUtilization`, else the target plus `defaultSizingMargin` (at most 100).
    public var effectiveSizingUtilization: Double {
        sizingUtilization ?? min(100, targetUtilization + Self.defaultSizingMargin)
    }
    public var metricsSource: MetricsBackend
    public var stepSeconds: Double
    /// Metrics older than this are stale: no scale-in.
    public var staleAfterSeconds: Double
    public var modelArtefact: String?
    public var modelMaxAgeSeconds: Double
    /// The accuracy gate: the model's holdout MAE must not exceed this × the seasonal-naive MAE.
    public var modelMaxMAERatio: Double
    public var calendarConfigMap: String?
    public var calendarKey: String
    /// The calendar floor lasts until an event ends (true) or until its ramp has settled.
    public var holdThroughEvent: Bool
    public var scaleUpMaxStep: Int
    public var scaleUpCooldownSeconds: Double
    /// One scale-up adds up to max(scaleUpMaxStep, current × this ÷ 100) — HPA's two policies, the larger.
    public var scaleUpMaxStepPercent: Double = 100
    /// The present load is checked this often between step passes, for scale-up only (0: only at steps).
    public var fastCheckSeconds: Double = 15
    public var scaleDownMaxStep: Int
    public var scaleDownCooldownSeconds: Double
    public var stabilizationWindowSeconds: Double
    /// Target tracking holds while load ÷ (capacity × target) is within 1 ± this (HPA's 10 %).
    public var tolerance: Double
    /// Simulated targets: the trace, the start offset into it, warm-up, initial capacity.
    public var simulation: SimulationSpec?
    /// CloudWatch metric of an AutoScalingGroup target (per-instance utilisation).
    public var cloudWatch: CloudWatchSpec
    /// The load query of a Prometheus-backed policy.
    public var prometheus: PrometheusSpec?
    /// Named covariates fed to the model beside the load (`spec.metrics.inputs`), in order.
    public var inputs: [MetricInput] = []

    /// Defaults of spec.forecast (the dashboard and the backtest fall back to them too).
    public static let defaultQuantile = SpecFields.quantile.fallback!
    /// The lead time of a policy that sets none, until its target's launch-to-ready is measured.
    public static let defaultLeadTimeSeconds: Double = 300

    public struct CloudWatchSpec: Sendable, Equatable, Hashable {
        public var namespace: String
        public var metricName: String
        public var statistic: String
        /// Empty: AutoScalingGroupName = the target's name.
        public var dimensions: [String: String]
    }

    public struct PrometheusSpec: Sendable, Equatable, Hashable {
        /// nil: the controller's --prometheus-url.
        public var address: String?
        public var query: String
        /// The demand one replica serves at 100 %: load = value ÷ this × 100 (instance-percent,
        /// the units of the rest of the controller). nil: the query already gives that load.
        public var capacityPerReplica: Double?
        /// How several series of one query become one (none: several is an error).
        public var aggregate: Aggregation

        public init(
            address: String? = nil, query: String, capacityPerReplica: Double? = nil, aggregate: Aggregation = .none
        ) {
            self.query = query
            self.address = address
            self.capacityPerReplica = capacityPerReplica
            self.aggregate = aggregate
        }
    }

    public enum Aggregation: String, Sendable, Equatable, Hashable, CaseIterable {
        case none, sum, avg, max, min
    }

    /// A covariate: its name (a model input column) and where it comes from — a PromQL query
    /// (Prometheus), a CloudWatch metric (an Auto Scaling group), or the trace column of that
    /// name (a simulation).
    public struct MetricInput: Sendable, Equatable, Hashable {
        public var name: String
        public var query: String?
        public var cloudWatch: CloudWatchInput?
    }

    /// A CloudWatch covariate: one of AWS predictive scaling's predefined metrics, or a metric.
    public struct CloudWatchInput: Sendable, Equatable, Hashable {
        public enum Predefined: String, Sendable, CaseIterable {
            case asgAverageCPUUtilization = "ASGAverageCPUUtilization"
            case asgAverageNetworkIn = "ASGAverageNetworkIn"
            case asgAverageNetworkOut = "ASGAverageNetworkOut"
            case albRequestCountPerTarget = "ALBRequestCountPerTarget"
        }

        public var predefined: Predefined?
        /// ALBRequestCountPerTarget: `app/<lb>/<id>/targetgroup/<tg>/<id>`, as AWS spells it.
        public var resourceLabel: String?
        public var namespace: String?
        public var metricName: String?
        public var statistic: String
        public var dimensions: [String: String]
    }

    public struct SimulationSpec: Sendable, Equatable, Hashable {
        /// "seed" (the prototype's generator), or a CSV path with a `load` or `value` column.
        public var trace: String
        public var loadScale: Double
        public var initialCapacity: Int
        public var warmupSeconds: Double
        public var startOffsetSteps: Int
    }

    /// How far ahead a decision looks: the lead time (a new instance's warm-up) plus the step during which the
    /// capacity decided now serves. The window `decide` reads is (now, now + actingHorizon]; the forecast point at
    /// the acting step is the last one in it (`ForecastPoint.acting`).
    public var actingHorizon: TimeInterval { leadTimeSeconds + stepSeconds }

    /// Forecast steps the acting horizon spans.
    public var leadSteps: Int { Int((actingHorizon / stepSeconds).rounded()) }

    /// Parses and validates; the errors name the field as the API server would.
    public static func parse(_ spec: JSONValue?) -> Result<PolicySpec, InvalidSpec> {
        var reader = SpecReader(spec ?? [:])
        if let spec, spec.objectValue == nil { return .failure(InvalidSpec(problems: ["spec: must be an object"])) }
        let kindText = reader.text(SpecFields.targetKind)
        if kindText == nil, !reader.has(SpecFields.targetKind.path) {
            reader.problem("spec.target.kind: required (one of Simulated, Deployment, AutoScalingGroup)")
        }
        let kind = kindText.flatMap(TargetKind.init(rawValue:)) ?? .simulated
        let name = reader.text(SpecFields.targetName) ?? ""
        if name.isEmpty { reader.problem("spec.target.name: required") }
        let minCapacity = reader.integer(SpecFields.minCapacity)
        var policy = PolicySpec(
            targetKind: kind, targetName: name, region: reader.text(SpecFields.region),
            minCapacity: minCapacity, maxCapacity: reader.integer(SpecFields.maxCapacity),
            mode: reader.text(SpecFields.mode).flatMap(Mode.init(rawValue:)) ?? .predictive,
            suspend: reader.flag(SpecFields.suspend),
            targetUtilization: reader.number(SpecFields.targetUtilization),
            scaleUpAbove: reader.number(SpecFields.scaleUpAbove),
            scaleDownBelow: reader.number(SpecFields.scaleDownBelow),
            horizonSteps: reader.integer(SpecFields.horizonSteps),
            leadTimeSeconds: Self.defaultLeadTimeSeconds, quantile: reader.number(SpecFields.quantile),
            metricsSource: .simulated,
            stepSeconds: reader.number(SpecFields.stepSeconds),
            staleAfterSeconds: reader.number(SpecFields.staleAfterSeconds),
            modelArtefact: reader.text(SpecFields.artefact),
            modelMaxAgeSeconds: reader.number(SpecFields.modelMaxAgeSeconds),
            modelMaxMAERatio: reader.number(SpecFields.modelMaxMAERatio),
            calendarConfigMap: reader.text(SpecFields.calendarName),
            calendarKey: reader.text(SpecFields.calendarKey) ?? "events.json",
            holdThroughEvent: reader.flag(SpecFields.holdThroughEvent),
            scaleUpMaxStep: reader.integer(SpecFields.scaleUpMaxStep),
            scaleUpCooldownSeconds: reader.number(SpecFields.scaleUpCooldownSeconds),
            scaleDownMaxStep: reader.integer(SpecFields.scaleDownMaxStep),
            scaleDownCooldownSeconds: reader.number(SpecFields.scaleDownCooldownSeconds),
            stabilizationWindowSeconds: reader.number(SpecFields.stabilizationWindowSeconds),
            tolerance: reader.number(SpecFields.tolerance),
            simulation: nil,
            cloudWatch: CloudWatchSpec(
                namespace: reader.text(SpecFields.cloudWatchNamespace) ?? "AWS/EC2",
                metricName: reader.text(SpecFields.cloudWatchMetricName) ?? "CPUUtilization",
                statistic: reader.text(SpecFields.cloudWatchStatistic) ?? "Average", dimensions: [:])
        )
        policy.scaleUpMaxStepPercent = reader.number(SpecFields.scaleUpMaxStepPercent)
        policy.fastCheckSeconds = reader.number(SpecFields.fastCheckSeconds)
        if reader.has(SpecFields.sizingUtilization.path) {
            policy.sizingUtilization = reader.number(SpecFields.sizingUtilization)
        }
        policy.leadTimeIsSet = reader.has(SpecFields.leadTimeSeconds.path)
        if policy.leadTimeIsSet { policy.leadTimeSeconds = reader.number(SpecFields.leadTimeSeconds) }
        if let dimensions = reader.spec.value(at: ["metrics", "cloudwatch", "dimensions"]), dimensions != .null {
            if let fields = dimensions.objectValue, Self.areDimensions(fields) {
                policy.cloudWatch.dimensions = dimensions.stringMap
            } else {
                reader.problem("spec.metrics.cloudwatch.dimensions: \(Self.dimensionsRule)")
            }
        }
        policy.simulation = Self.simulation(&reader, minCapacity: minCapacity)
        policy.prometheus = Self.prometheus(&reader)
        policy.inputs = Self.inputs(&reader)
        let sourceText = reader.text(SpecFields.metricsSource)
        policy.metricsSource =
            sourceText.flatMap(MetricsBackend.init(rawValue:))
            ?? .default(for: kind, hasSimulation: policy.simulation != nil)
        var problems = reader.problems
        problems += policy.crossFieldProblems
        return problems.isEmpty ? .success(policy) : .failure(InvalidSpec(problems: problems))
    }

    /// Limits of `spec.metrics.inputs`.
    public static let maxInputs = 16

    /// `[a-z_][a-z0-9_]*`, at most 63 bytes, and not a name the feature builder derives.
    /// CloudWatch dimensions as the CRD bounds them: at most 30, each value a string of at most 1,024 characters
    /// (CloudWatch's own limit; the schema's maxLength, which kube-apiserver's CEL cost estimator also reads).
    static let dimensionsRule = "must map at most 30 names to strings of at most 1024 characters"

    static func areDimensions(_ fields: [String: JSONValue]) -> Bool {
        fields.count <= 30 && fields.values.allSatisfy { ($0.stringValue?.unicodeScalars.count ?? .max) <= 1024 }
    }

    static func isInputName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63, first == UInt8(ascii: "_") || (97...122).contains(first)
        else { return false }
        guard bytes.allSatisfy({ $0 == UInt8(ascii: "_") || (97...122).contains($0) || (48...57).contains($0) }) else {
            return false
        }
        return !["load", "timestamp"].contains(name) && !FeatureBuilder.derivedColumns.contains(name)
            && !name.hasSuffix("_rolling_mean")
    }

    /// `spec.metrics.inputs`: at most `maxInputs`, names that can be model columns, each
    /// from one place.
    /// `spec.target.simulation`, if the policy has one.
    static func simulation(_ reader: inout SpecReader, minCapacity: Int) -> SimulationSpec? {
        guard reader.has(["target", "simulation"]) else { return nil }
        return SimulationSpec(
            trace: reader.text(SpecFields.trace) ?? "seed", loadScale: reader.number(SpecFields.loadScale),
            initialCapacity: reader.has(SpecFields.initialCapacity.path)
                ? reader.integer(SpecFields.initialCapacity) : minCapacity,
            warmupSeconds: reader.number(SpecFields.warmupSeconds),
            startOffsetSteps: reader.integer(SpecFields.startOffsetSteps))
    }

    /// `spec.metrics.prometheus`, if the policy has it.
    static func prometheus(_ reader: inout SpecReader) -> PrometheusSpec? {
        guard reader.has(["metrics", "prometheus"]) else { return nil }
        return PrometheusSpec(
            address: reader.text(SpecFields.prometheusAddress), query: reader.text(SpecFields.prometheusQuery) ?? "",
            capacityPerReplica: reader.has(SpecFields.capacityPerReplica.path)
                ? reader.number(SpecFields.capacityPerReplica) : nil,
            aggregate: Aggregation(rawValue: reader.text(SpecFields.prometheusAggregate) ?? "none") ?? .none)
    }

    static func inputs(_ reader: inout SpecReader) -> [MetricInput] {
        guard let value = reader.spec.value(at: ["metrics", "inputs"]), value != .null else { return [] }
        guard let items = value.arrayValue, items.count <= maxInputs else {
            reader.problem("spec.metrics.inputs: must be a list of at most \(maxInputs) inputs")
            return []
        }
        var inputs: [MetricInput] = []
        for (index, item) in items.enumerated() {
            let field = "spec.metrics.inputs[\(index)]"
            guard let name = item["name"]?.stringValue, isInputName(name) else {
                reader.problem(
                    "\(field).name: a column name ([a-z_][a-z0-9_]*, at most 63) other than load and the derived features"
                )
                continue
            }
            if inputs.contains(where: { $0.name == name }) { reader.problem("\(field).name: \(name) appears twice") }
            var input = MetricInput(name: name, query: nil, cloudWatch: nil)
            if let query = item["query"] {
                guard let text = query.stringValue, !text.isEmpty, text.utf8.count <= 4096 else {
                    reader.problem("\(field).query: a PromQL query of at most 4096 bytes")
                    continue
                }
                input.query = text
            }
            if let cloudWatch = item["cloudwatch"] {
                guard let parsed = cloudWatchInput(cloudWatch, field: "\(field).cloudwatch", reader: &reader) else {
                    continue
                }
                input.cloudWatch = parsed
            }
            inputs.append(input)
        }
        return inputs
    }

    static func cloudWatchInput(_ value: JSONValue, field: String, reader: inout SpecReader) -> CloudWatchInput? {
        guard value.objectValue != nil else {
            reader.problem("\(field): must be an object")
            return nil
        }
        func text(_ key: String, max: Int = 255) -> String? {
            guard let item = value[key], item != .null else { return nil }
            guard let string = item.stringValue, !string.isEmpty, string.utf8.count <= max else {
                reader.problem("\(field).\(key): a string of 1…\(max) bytes")
                return nil
            }
            return string
        }
        var input = CloudWatchInput(
            predefined: nil, resourceLabel: text("resourceLabel", max: 1023), namespace: text("namespace"),
            metricName: text("metricName"), statistic: text("statistic") ?? "Average", dimensions: [:])
        if let predefined = text("predefined") {
            guard let known = CloudWatchInput.Predefined(rawValue: predefined) else {
                reader.problem(
                    "\(field).predefined: one of \(CloudWatchInput.Predefined.allCases.map(\.rawValue).joined(separator: ", "))"
                )
                return nil
            }
            input.predefined = known
            if known == .albRequestCountPerTarget, input.resourceLabel?.contains("/targetgroup/") != true {
                reader.problem(
                    "\(field).resourceLabel: ALBRequestCountPerTarget needs app/<lb>/<id>/targetgroup/<tg>/<id>")
            }
        } else if input.namespace == nil || input.metricName == nil {
            reader.problem("\(field): give predefined, or namespace and metricName")
            return nil
        }
        if !["Average", "Maximum", "Minimum", "Sum", "SampleCount"].contains(input.statistic) {
            reader.problem("\(field).statistic: one of Average, Maximum, Minimum, Sum, SampleCount")
        }
        if let dimensions = value["dimensions"], dimensions != .null {
            guard let fields = dimensions.objectValue, Self.areDimensions(fields) else {
                reader.problem("\(field).dimensions: \(Self.dimensionsRule)")
                return nil
            }
            input.dimensions = dimensions.stringMap
        }
        return input
    }

    /// Rules between fields (each field is already within its own range).
    var crossFieldProblems: [String] {
        var problems: [String] = []
        if maxCapacity < minCapacity { problems.append("spec.maxCapacity: must be ≥ minCapacity (\(minCapacity))") }
        if scaleDownBelow >= scaleUpAbove {
            problems.append("spec.thresholds: scaleDownBelow must be below scaleUpAbove")
        }
        if targetKind == .autoScalingGroup, region == nil {
            problems.append("spec.target.region: required for an AutoScalingGroup")
        }
        if targetKind == .simulated, simulation == nil {
            problems.append("spec.target.simulation: required for a Simulated target")
        }
        if let simulation, simulation.loadScale <= 0 {
            problems.append("spec.target.simulation.loadScale: must be above 0")
        }
        if modelMaxMAERatio <= 0 { problems.append("spec.model.maxMAERatio: must be above 0") }
        if let artefact = modelArtefact,
            !(artefact.hasPrefix("file://") || artefact.hasPrefix("s3://")) || artefact.count < 8
        {
            problems.append("spec.model.artefact: must be a file:// or s3:// URL")
        }
        switch metricsSource {
        case .simulated where simulation == nil:
            problems.append("spec.metrics.source: simulated needs spec.target.simulation (the trace to replay)")
        case .cloudwatch where targetKind != .autoScalingGroup:
            problems.append(
                "spec.metrics.source: cloudwatch reads an Auto Scaling group's metrics; the target is a "
                    + "\(targetKind.rawValue)"
            )
        case .prometheus where (prometheus?.query ?? "").isEmpty:
            problems.append("spec.metrics.prometheus.query: required when the source is prometheus")
        default:
            break
        }
        if let address = prometheus?.address, !(address.hasPrefix("http://") || address.hasPrefix("https://")) {
            problems.append("spec.metrics.prometheus.address: must be an http:// or https:// URL")
        }
        if let capacity = prometheus?.capacityPerReplica, capacity <= 0 {
            problems.append("spec.metrics.prometheus.capacityPerReplica: must be above 0")
        }
        for (index, input) in inputs.enumerated() {
            let field = "spec.metrics.inputs[\(index)]"
            switch metricsSource {
            case .prometheus where input.query == nil:
                problems.append("\(field).query: required with the prometheus source")
            case .cloudwatch where input.cloudWatch == nil:
                problems.append("\(field).cloudwatch: required with the cloudwatch source")
            case .simulated where input.query != nil || input.cloudWatch != nil:
                problems.append(
                    "\(field): a simulation reads the trace column named \(input.name); no query or cloudwatch")
            default:
                break
            }
        }
        return problems
    }
}

public struct InvalidSpec: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "; ") }
}
