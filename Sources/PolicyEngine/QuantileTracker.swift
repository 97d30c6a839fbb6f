import Foundation

/// Online calibration of the forecast at the policy's quantile, as actuals arrive (adaptive
/// conformal inference by quantile tracking): each forecast made a lead time ahead is
/// checked when its actual is observed; a miss (actual above it) raises the offset by η·q, a
/// hit lowers it by η·(1 − q) — the pinball loss's gradient step — so in the long run a
/// share q of outcomes falls at or below forecast + offset whatever the model's bias. η is a
/// fraction of the recent absolute error, so the offset moves in the load's own units.
/// Restarts (a new process, a new model) begin at 0 and the split-conformal offsets the
/// model carries.
public struct QuantileTracker: Sendable, Equatable {
    public struct Pending: Sendable, Equatable {
        public var time: Date
        public var value: Double
    }

    public var offset: Double = 0
    /// Forecasts waiting for their actual (oldest first, at most `maxPending`).
    public var pending: [Pending] = []
    /// Exponential average of |actual − forecast|: the step's scale.
    public var scale: Double = 0
    /// Checked forecasts and those covered, since the tracker started.
    public var checked = 0
    public var covered = 0
    /// The model the offset belongs to.
    public var modelVersion: String?

    static let rate = 0.05
    static let maxPending = 64

    public init() {}

    /// Checks every pending forecast whose time has an actual in `history`; returns nothing.
    public mutating func observe(_ history: [LoadSample], quantile: Double, tolerance: TimeInterval) {
        guard !pending.isEmpty, let newest = history.last?.time else { return }
        var remaining: [Pending] = []
        for forecast in pending {
            guard forecast.time <= newest else {
                remaining.append(forecast)
                continue
            }
            guard
                let actual = history.min(by: {
                    abs($0.time.timeIntervalSince(forecast.time)) < abs($1.time.timeIntervalSince(forecast.time))
                }),
                abs(actual.time.timeIntervalSince(forecast.time)) <= tolerance
            else { continue }
            let error = actual.load - forecast.value
            scale = checked == 0 ? abs(error) : 0.9 * scale + 0.1 * abs(error)
            let step = Self.rate * max(scale, 1)
            if actual.load <= forecast.value {
                covered += 1
                offset -= step * (1 - quantile)
            } else {
                offset += step * quantile
            }
            checked += 1
            // Never more than ten times the recent error either way: a broken series cannot
            // run the offset away.
            let bound = 10 * max(scale, 1)
            offset = min(max(offset, -bound), bound)
        }
        pending = remaining
    }

    public mutating func expect(_ value: Double, at time: Date) {
        pending.append(Pending(time: time, value: value))
        if pending.count > Self.maxPending { pending.removeFirst(pending.count - Self.maxPending) }
    }

    public var coverage: Double? { checked == 0 ? nil : Double(covered) / Double(checked) }
}
