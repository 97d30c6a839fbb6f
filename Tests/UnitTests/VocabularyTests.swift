import PolicyEngine
import Testing

/// The words people read in status and Events: CamelCase wire names (as Kubernetes reasons are; each enum's raw
/// values are distinct by the compiler), and no reason the conditions name themselves (Reconciled, MetricsFresh,
/// NoMetrics, …) spelled like a failure, model problem, metrics problem or limit.
@Suite struct VocabularyTests {
    static func isCamelCase(_ word: String) -> Bool {
        guard let first = word.unicodeScalars.first, ("A"..."Z").contains(first) else { return false }
        return word.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) }
    }

    static let named: [ConditionReason] = [
        .reconciled, .modelLoaded, .usingModel, .metricsFresh, .metricsStale, .noMetrics, .notLimited,
    ]
    static let problems: [ConditionReason] =
        FailureReason.allCases.map { .failure($0) } + ModelProblem.allCases.map { .model($0) }
        + MetricsProblemReason.allCases.map { .metrics($0) } + Plan.Limit.allCases.map { .limit($0) }

    @Test func everyReasonIsOneCamelCaseWord() {
        let words =
            (Self.named + Self.problems).map(\.description) + ConditionType.allCases.map(\.rawValue)
            + [EventReason.scaledUp, .scaledDown, .modelLoaded, .modelPromoted, .modelRejected].map(\.description)
            + PromotionGate.Reason.allCases.map(\.rawValue)
        for word in words { #expect(Self.isCamelCase(word), "\(word)") }
    }

    @Test func aReasonTheConditionsNameIsNeverAnotherVocabularysWord() {
        let own = Set(Self.named.map(\.description))
        #expect(own.count == Self.named.count)
        #expect(own.isDisjoint(with: Self.problems.map(\.description)))
    }

    /// A word interpolated into a message or a log line is its wire name, never the Swift case name.
    @Test func interpolatedWordsAreWireNames() {
        #expect("\(ConditionType.ready)" == "Ready")
        #expect("\(FailureReason.scalingFailed)" == "ScalingFailed")
        #expect("\(MetricsProblemReason.prometheusUnreachable)" == "PrometheusUnreachable")
        #expect("\(EventAction.scale)" == "Scale")
        #expect("\(PromotionGate.Reason.worseThanChampion)" == "WorseThanChampion")
        #expect("\(ConditionReason.limit(.maxStepUp))" == "MaxStepUp")
        #expect("\(EventReason.condition(.failure(.accessDenied)))" == "AccessDenied")
    }

    @Test func anEventForAFlippedConditionCarriesTheConditionsReason() {
        for reason in Self.named + Self.problems {
            #expect(EventReason.condition(reason).description == reason.description)
        }
    }
}
