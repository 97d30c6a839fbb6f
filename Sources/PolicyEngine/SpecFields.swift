import KubeCore

/// Every scalar field of `spec` with its type, range and default — the one place these are
/// written. `PolicySpec.parse` reads through these rules, and a test holds
/// `crds/scalingpolicy.yaml` to them (type, minimum, maximum, default), so a policy created
/// without schema defaulting, or against an older CRD, still means the same thing and is
/// still range-checked before any number is converted or allocated with.
public struct NumberField: Sendable, CustomStringConvertible {
    public let path: [String]
    public let range: ClosedRange<Double>
    public let isInteger: Bool
    /// nil: required, or derived from other fields (documented where it is read).
    public let fallback: Double?

    public var description: String { "spec." + path.joined(separator: ".") }
}

public struct TextField: Sendable, CustomStringConvertible {
    public let path: [String]
    /// The allowed values, when the field is an enum.
    public let allowed: [String]?
    public let fallback: String?
    public let maxLength: Int

    public var description: String { "spec." + path.joined(separator: ".") }
}

public struct FlagField: Sendable, CustomStringConvertible {
    public let path: [String]
    public let fallback: Bool

    public var description: String { "spec." + path.joined(separator: ".") }
}

public enum SpecFields {
    /// Capacities: far above any group we expect, far below anything that could overflow.
    public static let capacityRange = 0.0...100_000
    /// Durations in seconds: at most a day (cooldowns, windows, lead time, warm-up).
    public static let dayRange = 0.0...86_400

    static func integer(_ path: [String], _ range: ClosedRange<Double>, _ fallback: Double?) -> NumberField {
        NumberField(path: path, range: range, isInteger: true, fallback: fallback)
    }

    static func number(_ path: [String], _ range: ClosedRange<Double>, _ fallback: Double?) -> NumberField {
        NumberField(path: path, range: range, isInteger: false, fallback: fallback)
    }

    public static let minCapacity = integer(["minCapacity"], capacityRange, 1)
    public static let maxCapacity = integer(["maxCapacity"], 1...capacityRange.upperBound, 10)
    public static let targetUtilization = number(["targetUtilization"], 1...100, 60)
    public static let scaleUpAbove = number(["thresholds", "scaleUpAbove"], 0...100, 70)
    public static let scaleDownBelow = number(["thresholds", "scaleDownBelow"], 0...100, 35)
    public static let horizonSteps = integer(["forecast", "horizonSteps"], 1...2016, 12)
    public static let leadTimeSeconds = integer(["forecast", "leadTimeSeconds"], dayRange, nil)
    public static let quantile = number(["forecast", "quantile"], 0.01...0.99, 0.8)
    public static let sizingUtilization = number(["forecast", "sizingUtilization"], 1...100, nil)
    public static let stepSeconds = integer(["metrics", "stepSeconds"], 1...86_400, 300)
    public static let staleAfterSeconds = integer(["metrics", "staleAfterSeconds"], 1...604_800, 900)
    public static let modelMaxAgeSeconds = integer(["model", "maxAgeSeconds"], 1...31_536_000, 1_209_600)
    public static let modelMaxMAERatio = number(["model", "maxMAERatio"], 0...100, 1)
    public static let scaleUpMaxStep = integer(["behavior", "scaleUp", "maxStep"], 1...capacityRange.upperBound, 4)
    public static let scaleUpCooldownSeconds = integer(["behavior", "scaleUp", "cooldownSeconds"], dayRange, 0)
    /// HPA's percent policy beside the count: one action adds up to max(maxStep, current × this %).
    public static let scaleUpMaxStepPercent = integer(["behavior", "scaleUp", "maxStepPercent"], 0...10_000, 100)
    /// How often the present load is checked between step passes, for scale-up only (0: never).
    public static let fastCheckSeconds = integer(["behavior", "scaleUp", "fastCheckSeconds"], dayRange, 15)
    public static let scaleDownMaxStep = integer(["behavior", "scaleDown", "maxStep"], 1...capacityRange.upperBound, 1)
    public static let scaleDownCooldownSeconds = integer(["behavior", "scaleDown", "cooldownSeconds"], dayRange, 300)
    public static let stabilizationWindowSeconds = integer(
        ["behavior", "scaleDown", "stabilizationWindowSeconds"], dayRange, 900)
    /// As HPA's: no change while the load is within this fraction of what the capacity serves at target.
    public static let tolerance = number(["behavior", "tolerance"], 0...0.5, 0.1)
    public static let loadScale = number(["target", "simulation", "loadScale"], 0...1_000_000, 4)
    /// Default: minCapacity.
    public static let initialCapacity = integer(["target", "simulation", "initialCapacity"], capacityRange, nil)
    public static let warmupSeconds = integer(["target", "simulation", "warmupSeconds"], dayRange, 300)
    public static let startOffsetSteps = integer(["target", "simulation", "startOffsetSteps"], 0...10_000_000, 576)

    /// The demand one replica serves at 100 % (Prometheus): any positive amount.
    public static let capacityPerReplica = number(["metrics", "prometheus", "capacityPerReplica"], 0...1e15, nil)

    public static let numbers: [NumberField] = [
        capacityPerReplica,
        minCapacity, maxCapacity, targetUtilization, scaleUpAbove, scaleDownBelow, horizonSteps, leadTimeSeconds,
        quantile, sizingUtilization,
        stepSeconds, staleAfterSeconds, modelMaxAgeSeconds, modelMaxMAERatio, scaleUpMaxStep, scaleUpCooldownSeconds,
        scaleUpMaxStepPercent, fastCheckSeconds,
        scaleDownMaxStep, scaleDownCooldownSeconds, stabilizationWindowSeconds, tolerance, loadScale, initialCapacity,
        warmupSeconds,
        startOffsetSteps,
    ]

    public static let targetKind = TextField(
        path: ["target", "kind"], allowed: PolicySpec.TargetKind.allCases.map(\.rawValue), fallback: nil, maxLength: 32)
    public static let targetName = TextField(path: ["target", "name"], allowed: nil, fallback: nil, maxLength: 255)
    public static let region = TextField(path: ["target", "region"], allowed: nil, fallback: nil, maxLength: 32)
    public static let trace = TextField(
        path: ["target", "simulation", "trace"], allowed: nil, fallback: "seed", maxLength: 4096)
    public static let mode = TextField(
        path: ["mode"], allowed: PolicySpec.Mode.allCases.map(\.rawValue), fallback: "Predictive", maxLength: 32)
    /// Default: by target kind (see `PolicySpec.MetricsBackend.default(for:)`).
    public static let metricsSource = TextField(
        path: ["metrics", "source"], allowed: PolicySpec.MetricsBackend.allCases.map(\.rawValue), fallback: nil,
        maxLength: 32)
    public static let cloudWatchNamespace = TextField(
        path: ["metrics", "cloudwatch", "namespace"], allowed: nil, fallback: "AWS/EC2", maxLength: 255)
    public static let cloudWatchMetricName = TextField(
        path: ["metrics", "cloudwatch", "metricName"], allowed: nil, fallback: "CPUUtilization", maxLength: 255)
    public static let cloudWatchStatistic = TextField(
        path: ["metrics", "cloudwatch", "statistic"], allowed: ["Average", "Maximum", "Minimum", "Sum", "SampleCount"],
        fallback: "Average", maxLength: 32)
    public static let artefact = TextField(path: ["model", "artefact"], allowed: nil, fallback: nil, maxLength: 4096)
    public static let calendarName = TextField(
        path: ["calendar", "configMapRef", "name"], allowed: nil, fallback: nil, maxLength: 253)
    public static let calendarKey = TextField(
        path: ["calendar", "configMapRef", "key"], allowed: nil, fallback: "events.json", maxLength: 253)

    public static let prometheusAddress = TextField(
        path: ["metrics", "prometheus", "address"], allowed: nil, fallback: nil, maxLength: 2048)
    public static let prometheusQuery = TextField(
        path: ["metrics", "prometheus", "query"], allowed: nil, fallback: nil, maxLength: 4096)
    public static let prometheusAggregate = TextField(
        path: ["metrics", "prometheus", "aggregate"], allowed: PolicySpec.Aggregation.allCases.map(\.rawValue),
        fallback: "none",
        maxLength: 8)

    public static let texts: [TextField] = [
        prometheusAddress, prometheusQuery, prometheusAggregate,
        targetKind, targetName, region, trace, mode, metricsSource, cloudWatchNamespace, cloudWatchMetricName,
        cloudWatchStatistic,
        artefact, calendarName, calendarKey,
    ]

    public static let suspend = FlagField(path: ["suspend"], fallback: false)
    public static let holdThroughEvent = FlagField(path: ["calendar", "holdThroughEvent"], fallback: false)
    public static let flags: [FlagField] = [suspend, holdThroughEvent]
}

/// Reads a spec through the field rules, collecting every problem (the API server's
/// style: all invalid fields in one message) and never trapping on a value.
struct SpecReader {
    let spec: JSONValue
    private(set) var problems: [String] = []

    init(_ spec: JSONValue) {
        self.spec = spec
    }

    /// The value within the rule's range; the fallback (or the range's lower bound) and a
    /// problem otherwise. Integers must be whole and within range before conversion.
    mutating func number(_ field: NumberField) -> Double {
        let fallback = field.fallback ?? field.range.lowerBound
        let value: Double
        switch spec.value(at: field.path) {
        case nil, .null?:
            return fallback
        case .integer(let integer)?:
            value = Double(integer)
        case .number(let number)?:
            value = number
        default:
            problems.append("\(field): must be \(field.isInteger ? "an integer" : "a number")")
            return fallback
        }
        guard value.isFinite, !field.isInteger || value.rounded() == value else {
            problems.append("\(field): must be \(field.isInteger ? "an integer" : "a finite number")")
            return fallback
        }
        guard field.range.contains(value) else {
            problems.append(
                "\(field): must be between \(Self.format(field.range.lowerBound)) and "
                    + "\(Self.format(field.range.upperBound)) (got \(Self.format(value)))"
            )
            return fallback
        }
        return value
    }

    /// An integer field: in range, so the conversion is exact.
    mutating func integer(_ field: NumberField) -> Int {
        Int(exactly: number(field).rounded()) ?? 0
    }

    /// Whether the field is present (not absent or null).
    func has(_ path: [String]) -> Bool {
        switch spec.value(at: path) {
        case nil, .null?: return false
        default: return true
        }
    }

    mutating func text(_ field: TextField) -> String? {
        switch spec.value(at: field.path) {
        case nil, .null?:
            return field.fallback
        case .string(let text)?:
            if let allowed = field.allowed, !allowed.contains(text) {
                problems.append(
                    "\(field): must be one of \(allowed.joined(separator: ", ")) (got \"\(text.prefix(64))\")")
                return field.fallback
            }
            guard text.utf8.count <= field.maxLength else {
                problems.append("\(field): longer than \(field.maxLength) bytes")
                return field.fallback
            }
            return text
        default:
            problems.append("\(field): must be a string")
            return field.fallback
        }
    }

    mutating func flag(_ field: FlagField) -> Bool {
        switch spec.value(at: field.path) {
        case nil, .null?: return field.fallback
        case .bool(let value)?: return value
        default:
            problems.append("\(field): must be true or false")
            return field.fallback
        }
    }

    mutating func problem(_ text: String) { problems.append(text) }

    static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
