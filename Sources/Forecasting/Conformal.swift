/// Split-conformal pieces shared by the artefact's calibration, the classical forecasters'
/// and the selection's.
enum Conformal {
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
}
