import Foundation

/// Real series miss samples: an exporter restarts, CloudWatch has no datapoint for a period,
/// a CSV row is blank, timestamps jitter by a second. Every model and baseline here reads
/// rows as steps (a lag is a row; a day is 288 rows at 5 minutes), so a series is put on a
/// regular grid before anything reads it: one row per step, anchored at the last sample,
/// each column linearly interpolated between the samples that bracket a grid time (carried
/// to the ends), missing values (NaN) skipped.
extension TimeSeriesTable {
    /// What putting a table on its grid did.
    public struct Regularity: Sendable, Equatable {
        /// The grid's step, seconds.
        public var step: Double
        /// Grid rows with no sample within half a step: filled by interpolation.
        public var filledRows: Int
        /// Values that were missing (blank or NaN) in sampled rows, over all columns.
        public var missingValues: Int
        /// The longest interval between two samples, seconds.
        public var longestGap: Double

        /// Nil when nothing was filled; else one line for a person.
        public var note: String? {
            guard filledRows > 0 || missingValues > 0 else { return nil }
            var parts: [String] = []
            if filledRows > 0 {
                parts.append(
                    "\(filledRows) missing row\(filledRows == 1 ? "" : "s") at \(Self.format(step)) filled by "
                        + "linear interpolation (longest gap \(Self.format(longestGap)))")
            }
            if missingValues > 0 {
                parts.append("\(missingValues) blank or NaN value\(missingValues == 1 ? "" : "s") interpolated")
            }
            return parts.joined(separator: "; ")
        }

        static func format(_ seconds: Double) -> String {
            if seconds >= 7200 { return String(format: "%.1f h", seconds / 3600) }
            if seconds >= 120 && seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60)) min" }
            return String(format: "%g s", seconds)
        }
    }

    /// Most rows a grid may have (a file of two rows a century apart at one second would
    /// otherwise allocate billions), and most values over all its columns.
    public static let maxGridRows = 5_000_000
    public static let maxGridValues = 20_000_000

    /// The median interval between rows (seconds); nil with fewer than two rows.
    public var medianStep: Double? {
        guard count >= 2 else { return nil }
        let intervals = zip(timestamps.dropFirst(), timestamps).map { $0.timeIntervalSince($1) }.sorted()
        return intervals[intervals.count / 2]
    }

    /// The table on a grid of `step` seconds (default: the median interval), anchored at the
    /// last row; at most `lastRows` rows (the most recent), and at most `maxGridRows`.
    /// Throws when a column has no value at all or the grid would be too large.
    public func regularized(step: Double? = nil, lastRows: Int? = nil, path: String = "<table>") throws(ParseError)
        -> (
            TimeSeriesTable, Regularity
        )
    {
        guard count >= 1, let last = timestamps.last else {
            throw ParseError(path: path, line: 0, problem: "has no rows")
        }
        let step = step ?? medianStep ?? 300
        guard step.isFinite, step >= 0.001, step <= 366 * 86_400 else {
            throw ParseError(path: path, line: 0, problem: "a step of \(step) s is out of range")
        }
        let span = last.timeIntervalSince(timestamps[0])
        guard span >= 0 else { throw ParseError(path: path, line: 0, problem: "timestamps are not in order") }
        // Counted in Double first: a wide span at a small step is refused, not converted.
        let rows = min(span / step + 1e-9 + 1, lastRows.map { Double(max(1, $0)) } ?? .infinity)
        guard rows.isFinite, rows < Double(Self.maxGridRows) else {
            throw ParseError(
                path: path, line: 0,
                problem: "spans \(span) s: more than \(Self.maxGridRows) rows at a step of \(step) s")
        }
        let gridCount = Int(rows)
        guard gridCount * max(1, columnNames.count) <= Self.maxGridValues else {
            throw ParseError(
                path: path, line: 0,
                problem: "\(gridCount) rows × \(columnNames.count) columns at a step of \(step) s: more than "
                    + "\(Self.maxGridValues) values")
        }
        let longestGap = zip(timestamps.dropFirst(), timestamps).map { $0.timeIntervalSince($1) }.max() ?? 0
        let missing = columnNames.reduce(0) { total, name in
            total + (columns[name] ?? []).reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        }
        // Already regular over the rows asked for (the usual case): those rows as they are.
        if gridCount <= count, let regular = suffix(gridCount, ifRegularAt: step) {
            return (regular, Regularity(step: step, filledRows: 0, missingValues: 0, longestGap: longestGap))
        }
        let times = (0..<gridCount).map { last.addingTimeInterval(-Double(gridCount - 1 - $0) * step) }
        let seconds = timestamps.map { $0.timeIntervalSince(last) }
        var regular = TimeSeriesTable(timestamps: times, columns: [:], columnNames: columnNames)
        for name in columnNames {
            let column = columns[name] ?? []
            let finite = column.indices.filter { column[$0].isFinite }
            guard !finite.isEmpty else {
                throw ParseError(path: path, line: 0, problem: "column '\(name)' has no values")
            }
            var values = [Float](repeating: 0, count: gridCount)
            var next = 0  // the first finite sample after the grid time
            for row in 0..<gridCount {
                let t = -Double(gridCount - 1 - row) * step
                while next < finite.count, seconds[finite[next]] <= t { next += 1 }
                if next == 0 {
                    values[row] = column[finite[0]]
                } else if next == finite.count {
                    values[row] = column[finite[next - 1]]
                } else {
                    let (a, b) = (finite[next - 1], finite[next])
                    let fraction = (t - seconds[a]) / (seconds[b] - seconds[a])
                    values[row] = column[a] + Float(fraction) * (column[b] - column[a])
                }
            }
            regular.columns[name] = values
        }
        // Grid rows with no sample within half a step.
        var filled = 0
        var nearest = 0
        for row in 0..<gridCount {
            let t = -Double(gridCount - 1 - row) * step
            while nearest + 1 < seconds.count, seconds[nearest + 1] <= t + step / 2 { nearest += 1 }
            if abs(seconds[nearest] - t) > step / 2 { filled += 1 }
        }
        return (
            regular, Regularity(step: step, filledRows: filled, missingValues: missing, longestGap: longestGap)
        )
    }

    /// The last `rows` rows when they are `step` apart and hold no missing value; else nil.
    private func suffix(_ rows: Int, ifRegularAt step: Double) -> TimeSeriesTable? {
        let range = (count - rows)..<count
        for row in range.dropFirst() where abs(timestamps[row].timeIntervalSince(timestamps[row - 1]) - step) >= 1e-6 {
            return nil
        }
        for name in columnNames where !(columns[name] ?? []).suffix(rows).allSatisfy(\.isFinite) { return nil }
        if rows == count { return self }
        return TimeSeriesTable(
            timestamps: Array(timestamps[range]), columns: columns.mapValues { Array($0.suffix(rows)) },
            columnNames: columnNames)
    }
}
