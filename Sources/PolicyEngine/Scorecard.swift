import Foundation

/// How a policy did, scored one way wherever it is scored (the backtest, the demo's and the dashboard's comparison,
/// the dashboard's coverage): intervals overloaded (load per instance in service above the SLO), instance-hours
/// paid for, and the forecast at the acting step against what came — its coverage and the width of its band.
public struct Scorecard: Sendable, Equatable {
    /// Per-instance utilisation above this is an overloaded interval.
    public let slo: Double
    public private(set) var intervals = 0
    public private(set) var overloadIntervals = 0
    public private(set) var instanceHours = 0.0
    public private(set) var forecastsChecked = 0
    public private(set) var forecastsCovered = 0
    private var widthSum = 0.0
    private var widthCount = 0

    /// `slo` infinite: a scorecard of forecasts only (no interval is an overload).
    public init(slo: Double = .infinity) { self.slo = slo }

    public func isOverloaded(load: Double?, inService: Int) -> Bool {
        guard let load else { return false }
        return load / Double(max(1, inService)) > slo
    }

    /// An interval of `seconds` in which `load` (nil: unknown, never an overload) met `inService` instances while
    /// `paid` were paid for.
    public mutating func interval(load: Double?, inService: Int, paid: Int, seconds: Double) {
        intervals += 1
        if isOverloaded(load: load, inService: inService) { overloadIntervals += 1 }
        instanceHours += Double(paid) * seconds / 3600
    }

    /// A forecast (at the policy's quantile, with its band when known) against the load that came.
    public mutating func forecast(_ value: Double, band: ClosedRange<Double>? = nil, outcome: Double) {
        forecastsChecked += 1
        if outcome <= value { forecastsCovered += 1 }
        if let band {
            widthSum += band.upperBound - band.lowerBound
            widthCount += 1
        }
    }

    /// The share of forecasts the outcome stayed at or below (a calibrated p80 covers about 0.8); nil before any.
    public var coverage: Double? { forecastsChecked == 0 ? nil : Double(forecastsCovered) / Double(forecastsChecked) }

    /// The mean width of the forecast band (the model's lowest to highest quantile); nil without bands.
    public var meanBandWidth: Double? { widthCount == 0 ? nil : widthSum / Double(widthCount) }
}
