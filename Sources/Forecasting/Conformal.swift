/// Split-conformal pieces shared by the artefact's calibration, the classical forecasters'
/// and the selection's, and how a value at any quantile is read from a model's quantiles.
public enum Conformal {
    /// The ⌈(n + 1)·level⌉-th smallest of `sorted` (clamped to the sample): the offset with a
    /// share `level` of the residuals at or below it. Nil for no residuals.
    static func offset<T>(sorted: [T], level: Double) -> T? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((Double(sorted.count + 1) * level).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The index of the level in `quantiles` nearest `level` (0 when there are none).
    static func nearest(_ level: Float, in quantiles: [Float]) -> Int {
        quantiles.indices.min { abs(quantiles[$0] - level) < abs(quantiles[$1] - level) } ?? 0
    }

    /// The value at quantile `q` from values at `levels` (any order): linear between the bracketing
    /// levels, the nearest level's value outside them. The controller's decision and the evaluation both
    /// read a model's quantiles this way.
    public static func interpolate(_ q: Double, levels: [Double], values: [Double]) -> Double {
        let points = zip(levels, values).sorted { $0.0 < $1.0 }
        return interpolateSorted(q, levels: points.map(\.0), values: points.map(\.1))
    }

    /// `interpolate` for levels already in ascending order.
    public static func interpolateSorted(_ q: Double, levels: [Double], values: [Double]) -> Double {
        guard let first = levels.first, let last = levels.last else { return 0 }
        if q <= first { return values[0] }
        if q >= last { return values[levels.count - 1] }
        guard let upper = levels.firstIndex(where: { $0 >= q }), upper > 0 else { return values[0] }
        let (qa, va, qb, vb) = (levels[upper - 1], values[upper - 1], levels[upper], values[upper])
        return qb > qa ? va + (vb - va) * (q - qa) / (qb - qa) : vb
    }

    /// Rows per day (a season) on a grid of `stepSeconds`.
    public static func season(stepSeconds: Double) -> Int { max(1, Int((86_400 / stepSeconds).rounded())) }
}
