/// Per-column min-max scaling to [0, 1], fit on the training rows only.
public struct MinMaxScaler: Codable, Sendable, Equatable {
    public var minimum: [Float]
    public var maximum: [Float]

    /// Fits on `rows` (row-major, `columns` wide).
    public init(fitting rows: ArraySlice<Float>, columns: Int) {
        minimum = [Float](repeating: .infinity, count: columns)
        maximum = [Float](repeating: -.infinity, count: columns)
        for (index, value) in rows.enumerated() {
            let column = index % columns
            minimum[column] = min(minimum[column], value)
            maximum[column] = max(maximum[column], value)
        }
    }

    public func scale(_ value: Float, column: Int) -> Float {
        let range = maximum[column] - minimum[column]
        return range > 0 ? (value - minimum[column]) / range : 0
    }

    public func unscale(_ value: Float, column: Int) -> Float {
        value * (maximum[column] - minimum[column]) + minimum[column]
    }
}
