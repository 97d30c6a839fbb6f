/// Whether a retrained model (the challenger) replaces the current one (the champion): it
/// must beat both the champion and seasonal-naive on MAE over the same most-recent holdout,
/// each by `margin` (a fraction: 0.02 = 2 % better). Pure.
public enum PromotionGate {
    public struct Verdict: Sendable, Equatable {
        public var promote: Bool
        /// CamelCase, for status and the Event: Promoted, NoChampion, WorseThanChampion, WorseThanSeasonalNaive.
        public var reason: String
        public var message: String
    }

    public static func decide(challengerMAE: Double, championMAE: Double?, seasonalNaiveMAE: Double?, margin: Double)
        -> Verdict
    {
        func format(_ value: Double) -> String { String(Int((value * 1000).rounded())).withDecimal }
        if let seasonal = seasonalNaiveMAE, !(challengerMAE < seasonal * (1 - margin)) {
            return Verdict(
                promote: false, reason: "WorseThanSeasonalNaive",
                message:
                    "challenger MAE \(format(challengerMAE)) does not beat seasonal-naive \(format(seasonal)) by "
                    + "\(Int(margin * 100)) %"
            )
        }
        guard let champion = championMAE else {
            return Verdict(
                promote: true, reason: "NoChampion",
                message: "no comparable current model; challenger MAE \(format(challengerMAE))")
        }
        guard challengerMAE < champion * (1 - margin) else {
            return Verdict(
                promote: false, reason: "WorseThanChampion",
                message:
                    "challenger MAE \(format(challengerMAE)) does not beat the current model's \(format(champion)) by "
                    + "\(Int(margin * 100)) %"
            )
        }
        return Verdict(
            promote: true, reason: "Promoted",
            message:
                "challenger MAE \(format(challengerMAE)) beats the current model's \(format(champion)) and "
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
