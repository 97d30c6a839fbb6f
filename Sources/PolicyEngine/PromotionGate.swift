import KubeCore

/// Whether a retrained model (the challenger) replaces the current one (the champion): what
/// each serves (its LSTM or the classical forecaster that won its selection) is scored on the
/// same most-recent holdout; the challenger must beat the champion's MAE by `margin` (a
/// fraction: 0.02 = 2 % better), and seasonal-naive's — by `margin` when it serves its LSTM,
/// at all when it serves a classical forecaster (which may be seasonal-naive itself). Pure.
public enum PromotionGate {
    /// Why, by wire name (status.training.reason and the Event's note).
    public enum Reason: String, Sendable, CaseIterable {
        case promoted = "Promoted"
        case noChampion = "NoChampion"
        case worseThanChampion = "WorseThanChampion"
        case worseThanSeasonalNaive = "WorseThanSeasonalNaive"
        case degenerateHistory = "DegenerateHistory"
        /// What the selection chose did not beat seasonal naive: seasonal naive itself was promoted.
        case servesSeasonalNaive = "ServesSeasonalNaive"
    }

    public struct Verdict: Sendable, Equatable {
        public var promote: Bool
        public var reason: Reason
        public var message: String
    }

    public static func decide(
        challengerMAE: Double, championMAE: Double?, seasonalNaiveMAE: Double?, margin: Double,
        challengerServes served: String = "lstm"
    ) -> Verdict {
        func format(_ value: Double) -> String {
            // Thousandths as a whole number; an error of 10¹² or more (or not finite) as it is.
            abs(value) < 1e12 ? String(Int((value * 1000).rounded())).withDecimal : String(format: "%.4g", value)
        }
        let learned = served == "lstm"
        // A series that does not move (a saturated or stopped source, a constant fill) scores every forecaster
        // perfectly: nothing learned from it may replace a model.
        if !(challengerMAE > 0) || seasonalNaiveMAE.map({ !($0 > 0) }) == true {
            return Verdict(
                promote: false, reason: .degenerateHistory,
                message:
                    "the holdout does not vary (challenger MAE \(format(challengerMAE)), seasonal-naive "
                    + "\(seasonalNaiveMAE.map(format) ?? "-")): a constant series proves nothing, so no model is promoted"
            )
        }
        if let seasonal = seasonalNaiveMAE,
            learned ? !(challengerMAE < seasonal * (1 - margin)) : !(challengerMAE <= seasonal)
        {
            return Verdict(
                promote: false, reason: .worseThanSeasonalNaive,
                message:
                    "challenger (\(served)) MAE \(format(challengerMAE)) does not beat seasonal-naive "
                    + "\(format(seasonal))" + (learned ? " by \(Int(margin * 100)) %" : "")
            )
        }
        guard let champion = championMAE else {
            return Verdict(
                promote: true, reason: .noChampion,
                message: "no comparable current model; challenger (\(served)) MAE \(format(challengerMAE))")
        }
        guard challengerMAE < champion * (1 - margin) else {
            return Verdict(
                promote: false, reason: .worseThanChampion,
                message:
                    "challenger (\(served)) MAE \(format(challengerMAE)) does not beat the current model's "
                    + "\(format(champion)) by "
                    + "\(Int(margin * 100)) %"
            )
        }
        return Verdict(
            promote: true, reason: .promoted,
            message:
                "challenger (\(served)) MAE \(format(challengerMAE)) beats the current model's \(format(champion)) and "
                + "seasonal-naive"
        )
    }
}

extension String {
    /// "12345" (thousandths) → "12.345".
    fileprivate var withDecimal: String {
        let negative = hasPrefix("-")
        var digits = negative ? String(dropFirst()) : self
        while digits.count < 4 { digits = "0" + digits }
        return (negative ? "-" : "") + digits.dropLast(3) + "." + digits.suffix(3)
    }
}
