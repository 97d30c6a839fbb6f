import PolicyEngine
import Testing

@Suite struct PromotionGateTests {
    @Test(arguments: [
        (10.0, 12.0 as Double?, 30.0 as Double?, true, "Promoted"),
        (11.9, 12.0, 30.0, false, "WorseThanChampion"),  // better, but not by 2 %
        (13.0, 12.0, 30.0, false, "WorseThanChampion"),
        (10.0, nil, 30.0, true, "NoChampion"),
        (10.0, nil, 10.1, false, "WorseThanSeasonalNaive"),
        (10.0, 20.0, 9.0, false, "WorseThanSeasonalNaive"),
        // A history that does not vary (a saturated simulation, a stopped source): every forecaster scores
        // perfectly on it, and a perfect score there must never replace a model (another tenant's, or yours).
        (0.0, 12.0, 0.0, false, "DegenerateHistory"),
        (0.0, nil, 0.0, false, "DegenerateHistory"),
        (0.0, nil, 5.0, false, "DegenerateHistory"),
        (3.0, nil, 0.0, false, "DegenerateHistory"),
        (.nan, nil, 5.0, false, "DegenerateHistory"),
    ])
    func verdicts(challenger: Double, champion: Double?, seasonal: Double?, promote: Bool, reason: String) {
        let verdict = PromotionGate.decide(
            challengerMAE: challenger, championMAE: champion, seasonalNaiveMAE: seasonal, margin: 0.02)
        #expect(verdict.promote == promote)
        #expect(verdict.reason.rawValue == reason)
    }

    @Test func messagesCarryTheNumbers() {
        let verdict = PromotionGate.decide(challengerMAE: 13.25, championMAE: 12.5, seasonalNaiveMAE: 30, margin: 0.02)
        #expect(verdict.message == "challenger (lstm) MAE 13.250 does not beat the current model's 12.500 by 2 %")
    }

    /// A classical winner need only not lose to seasonal-naive (it may be seasonal-naive); an
    /// LSTM must beat it by the margin; both must beat the champion by it.
    @Test(arguments: [
        ("seasonal_naive", 10.0, 10.0, true),
        ("ets", 10.0, 10.1, true),
        ("ets", 10.2, 10.1, false),
        ("lstm", 10.0, 10.1, false),
        ("lstm", 9.8, 10.1, true),
    ])
    func whatServesSetsTheSeasonalRule(served: String, challenger: Double, seasonal: Double, promote: Bool) {
        let verdict = PromotionGate.decide(
            challengerMAE: challenger, championMAE: nil, seasonalNaiveMAE: seasonal, margin: 0.02,
            challengerServes: served)
        #expect(verdict.promote == promote, "\(verdict.message)")
        #expect(verdict.message.contains("(\(served))"))
    }
}
