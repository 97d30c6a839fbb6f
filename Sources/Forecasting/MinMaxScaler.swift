/// Per-column scaling to about [0, 1], fit on the training rows only. The range is robust:
/// the 0.5th to 99.5th percentile, so one spike in training does not squeeze every ordinary
/// value into the bottom of the range (values beyond it scale past 0 or 1); a column whose
/// percentiles coincide (a rare flag) keeps its minimum and maximum. Stored as a minimum and
/// a maximum per column, as before, so older artefacts load unchanged.
public struct MinMaxScaler: Codable, Sendable, Equatable {
    public var minimum: [Float]
    public var maximum: [Float]

    /// The share of the training values at each end left outside the range.
    public static let tail = 0.005

    /// Fits on `rows` (row-major, `columns` wide).
    public init(fitting rows: ArraySlice<Float>, columns: Int) {
        minimum = [Float](repeating: .infinity, count: columns)
        maximum = [Float](repeating: -.infinity, count: columns)
        guard columns > 0 else { return }
        var values = [[Float]](repeating: [], count: columns)
        for (index, value) in rows.enumerated() where value.isFinite {
            values[index % columns].append(value)
        }
        for column in 0..<columns {
            let sorted = values[column].sorted()
            guard let first = sorted.first, let last = sorted.last else { continue }
            let cut = Int((Double(sorted.count) * Self.tail).rounded(.down))
            let low = sorted[cut]
            let high = sorted[sorted.count - 1 - cut]
            (minimum[column], maximum[column]) = high > low ? (low, high) : (first, last)
        }
    }

    public init(minimum: [Float], maximum: [Float]) {
        self.minimum = minimum
        self.maximum = maximum
    }

    public func scale(_ value: Float, column: Int) -> Float {
        let range = maximum[column] - minimum[column]
        return range > 0 ? (value - minimum[column]) / range : 0
    }

    public func unscale(_ value: Float, column: Int) -> Float {
        value * (maximum[column] - minimum[column]) + minimum[column]
    }
}
