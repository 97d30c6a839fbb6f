import Forecasting
import Foundation
import KubeCore
import PolicyEngine
import Testing

/// `decide` rule by rule, and their interplay, as tables (no clock, no I/O).
@Suite struct DecideTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func policy(_ change: (inout PolicySpec) -> Void = { _ in }) -> PolicySpec {
        var spec = try! PolicySpec.parse([
            "target": ["kind": "Simulated", "name": "web", "simulation": [:]], "minCapacity": 2, "maxCapacity": 20,
        ]).get()
        change(&spec)
        return spec
    }

    /// Forecast load `values` at steps 1, 2, … after now.
    static func forecast(_ values: [Double]) -> [ForecastPoint] {
        values.enumerated().map {
            .init(
                time: now.addingTimeInterval(Double($0.offset + 1) * 300), value: $0.element, median: $0.element * 0.9)
        }
    }

    static func observe(
        current: Int = 4, load: Double? = 240, forecast values: [Double] = [], model: ModelProblem? = nil,
        lastUp: Double? = nil, lastDown: Double? = nil, recommendations: [(Double, Int)] = [],
        events: [CalendarEvent] = []
    ) -> DecisionInput {
        DecisionInput(
            now: now, currentCapacity: current, currentLoad: load, forecast: forecast(values), modelProblem: model,
            events: events,
            lastScaleUp: lastUp.map { now.addingTimeInterval(-$0) },
            lastScaleDown: lastDown.map { now.addingTimeInterval(-$0) },
            recommendations: recommendations.map { .init(time: now.addingTimeInterval(-$0.0), capacity: $0.1) })
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var observation: DecisionInput
        var policy: PolicySpec
        var action: Plan.Action
        var reason: String
        var limits: [String] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            // 315 on 5 instances at 60 % is 1.05 × what they serve at target: inside HPA's 10 %.
            name: "reactive: within the tolerance the capacity holds",
            observation: observe(current: 5, load: 315), policy: policy { $0.mode = .reactive }, action: .hold,
            reason: "WithinTolerance", limits: ["WithinTolerance"]),
        Case(
            name: "reactive: beyond the tolerance it scales",
            observation: observe(current: 5, load: 345), policy: policy { $0.mode = .reactive },
            action: .scale(to: 6), reason: "LoadAboveTarget"),
        Case(
            name: "reactive: a tolerance of 0 is off",
            observation: observe(current: 5, load: 315),
            policy: policy {
                $0.mode = .reactive
                $0.tolerance = 0
            }, action: .scale(to: 6), reason: "LoadAboveTarget"),
        Case(
            name: "predictive: quantile of forecast over lead time + step / target",
            observation: observe(current: 4, load: 240, forecast: [300, 420, 900]), policy: policy(),
            action: .scale(to: 7), reason: "ForecastAboveTarget"),
        Case(
            // 420 at 80 % per instance is 5.25 → 6 (at the 60 % target it would be 7).
            name: "predictive sized at the SLO: the quantile at sizingUtilization",
            observation: observe(current: 4, load: 240, forecast: [300, 420, 900]),
            policy: policy { $0.sizingUtilization = 80 }, action: .scale(to: 6), reason: "ForecastAboveTarget"),
        Case(
            // The forecast alone would need 5 (340 at 80 %); the present 330 needs 6 at the target.
            name: "predictive sized at the SLO: the present load at the target stays the floor",
            observation: observe(current: 4, load: 330, forecast: [330, 340]),
            policy: policy { $0.sizingUtilization = 80 }, action: .scale(to: 6), reason: "ForecastAboveTarget"),
        Case(
            name: "predictive: steady when the forecast fits",
            observation: observe(current: 4, load: 200, forecast: [230, 235]), policy: policy(), action: .hold,
            reason: "Steady"),
        Case(
            name: "max step up",
            observation: observe(current: 4, forecast: [1200, 1200]), policy: policy(), action: .scale(to: 8),
            reason: "ForecastAboveTarget", limits: ["MaxStepUp"]),
        Case(
            name: "max step up is HPA's larger policy: 100 % of 6 beats 4",
            observation: observe(current: 6, forecast: [900, 900]), policy: policy(), action: .scale(to: 12),
            reason: "ForecastAboveTarget", limits: ["MaxStepUp"]),
        Case(
            name: "max capacity",
            observation: observe(current: 18, forecast: [3000, 3000]), policy: policy(), action: .scale(to: 20),
            reason: "ForecastAboveTarget", limits: ["MaxCapacity"]),
        Case(
            name: "scale-up cooldown (off by default, as HPA's; a policy may set one)",
            observation: observe(current: 4, forecast: [420, 420], lastUp: 60),
            policy: policy { $0.scaleUpCooldownSeconds = 120 }, action: .hold,
            reason: "ScaleUpCooldown", limits: ["ScaleUpCooldown"]),
        Case(
            name: "scale in one step at a time after the cooldown",
            observation: observe(current: 8, load: 100, forecast: [100, 100], lastUp: 3600), policy: policy(),
            action: .scale(to: 7), reason: "ForecastBelowTarget", limits: ["MaxStepDown"]),
        Case(
            name: "scale-in cooldown after any recent scale",
            observation: observe(current: 8, load: 100, forecast: [100, 100], lastUp: 100), policy: policy(),
            action: .hold, reason: "ScaleDownCooldown", limits: ["ScaleDownCooldown"]),
        Case(
            name: "stabilization window keeps the highest recent recommendation",
            observation: observe(current: 8, load: 100, forecast: [100, 100], recommendations: [(600, 8), (300, 6)]),
            policy: policy(), action: .hold, reason: "StabilizationWindow", limits: ["StabilizationWindow"]),
        Case(
            name: "stabilization ignores recommendations older than the window",
            observation: observe(current: 8, load: 100, forecast: [100, 100], recommendations: [(1200, 8)]),
            policy: policy(), action: .scale(to: 7), reason: "ForecastBelowTarget", limits: ["MaxStepDown"]),
        Case(
            name: "missing metrics never scale in, even when the forecast is low",
            observation: observe(current: 8, load: nil, forecast: [100, 100]), policy: policy(), action: .hold,
            reason: "MetricsUnavailable", limits: ["MetricsUnavailable"]),
        Case(
            name: "no metrics and no forecast: hold",
            observation: observe(current: 8, load: nil, forecast: []), policy: policy(), action: .hold, reason: "Steady"
        ),
        Case(
            name: "min capacity",
            observation: observe(current: 2, load: 10, forecast: [10, 10]), policy: policy(), action: .hold,
            reason: "Steady", limits: ["MinCapacity"]),
        Case(
            name: "unusable model: fall back to reactive target tracking",
            observation: observe(current: 4, load: 420, forecast: [], model: .corrupt), policy: policy(),
            action: .scale(to: 7), reason: "LoadAboveTarget"),
        Case(
            name: "threshold mode: +1 above 70% predicted CPU",
            observation: observe(current: 4, load: 240, forecast: [320, 320]), policy: policy { $0.mode = .threshold },
            action: .scale(to: 5), reason: "PredictedCPUAboveThreshold"),
        Case(
            name: "threshold mode: -1 below 35% predicted CPU",
            observation: observe(current: 4, load: 100, forecast: [120, 120]), policy: policy { $0.mode = .threshold },
            action: .scale(to: 3), reason: "PredictedCPUBelowThreshold"),
        Case(
            name: "threshold mode: hold between the thresholds",
            observation: observe(current: 4, load: 200, forecast: [200, 200]), policy: policy { $0.mode = .threshold },
            action: .hold, reason: "Steady"),
        Case(
            name: "reactive mode ignores the forecast",
            observation: observe(current: 4, load: 240, forecast: [900, 900]), policy: policy { $0.mode = .reactive },
            action: .hold, reason: "Steady"),
        Case(
            name: "ForecastOnly computes but never acts",
            observation: observe(current: 4, forecast: [900, 900]), policy: policy { $0.mode = .forecastOnly },
            action: .hold, reason: "ForecastOnly", limits: ["MaxStepUp"]),
        Case(
            name: "suspend never acts",
            observation: observe(current: 4, forecast: [900, 900]), policy: policy { $0.suspend = true }, action: .hold,
            reason: "Suspended", limits: ["MaxStepUp"]),
        Case(
            name: "calendar pre-warm within lead time of a known event",
            observation: observe(
                current: 4, load: 200, forecast: [200, 200],
                events: [
                    .init(
                        name: "sale", start: now.addingTimeInterval(200), end: now.addingTimeInterval(86_400),
                        multiplier: 2.9)
                ]),
            policy: policy(), action: .scale(to: 8), reason: "CalendarPrewarm",
            limits: ["CalendarPrewarm", "MaxStepUp"]),
        Case(
            // Lead time 300 s + step 300 s: the last pass that can have instances warm at the
            // start (the next pass would come 300 s later, 240 s after it began).
            name: "pre-warm a step before the lead time, so the next pass is not too late",
            observation: observe(
                current: 4, load: 200, forecast: [200, 200],
                events: [
                    .init(
                        name: "sale", start: now.addingTimeInterval(540), end: now.addingTimeInterval(86_400),
                        multiplier: 2.9)
                ]),
            policy: policy(), action: .scale(to: 8), reason: "CalendarPrewarm",
            limits: ["CalendarPrewarm", "MaxStepUp"]),
        Case(
            name: "no pre-warm before the lead time",
            observation: observe(
                current: 4, load: 200, forecast: [200, 200],
                events: [
                    .init(
                        name: "sale", start: now.addingTimeInterval(3600), end: now.addingTimeInterval(86_400),
                        multiplier: 2.9)
                ]),
            policy: policy(), action: .hold, reason: "Steady"),
        Case(
            name: "during an event the capacity is not scaled in",
            observation: observe(
                current: 10, load: 200, forecast: [200, 200], lastUp: 3600,
                events: [
                    .init(
                        name: "sale", start: now.addingTimeInterval(-600), end: now.addingTimeInterval(3600),
                        multiplier: 2.9)
                ]),
            policy: policy(), action: .hold, reason: "Steady", limits: ["CalendarPrewarm"]),
        Case(
            name: "a stabilization window into an event, the forecast and load decide again",
            observation: observe(
                current: 10, load: 200, forecast: [200, 200], lastUp: 3600,
                events: [
                    .init(
                        name: "sale", start: now.addingTimeInterval(-1000), end: now.addingTimeInterval(3600),
                        multiplier: 2.9)
                ]),
            policy: policy(), action: .scale(to: 9), reason: "ForecastBelowTarget", limits: ["MaxStepDown"]),
        Case(
            name: "holdThroughEvent keeps the floor until the event ends",
            observation: observe(
                current: 10, load: 200, forecast: [200, 200], lastUp: 3600,
                events: [
                    .init(
                        name: "sale", start: now.addingTimeInterval(-1000), end: now.addingTimeInterval(3600),
                        multiplier: 2.9)
                ]),
            policy: policy { $0.holdThroughEvent = true }, action: .hold, reason: "Steady", limits: ["CalendarPrewarm"]),
        Case(
            name: "predictive never goes below target tracking on the current load",
            observation: observe(current: 4, load: 420, forecast: [240, 240]), policy: policy(), action: .scale(to: 7),
            reason: "ForecastAboveTarget"),
    ]

    @Test(arguments: [
        (0.8, [0.5, 0.9], [100.0, 140.0], 130.0), (0.5, [0.5, 0.9], [100.0, 140.0], 100.0),
        (0.3, [0.5, 0.9], [100.0, 140.0], 100.0),
        (0.95, [0.5, 0.9], [100.0, 140.0], 140.0), (0.5, [0.9, 0.1, 0.5], [30.0, 10.0, 20.0], 20.0),
        (0.3, [0.9, 0.1, 0.5], [30.0, 10.0, 20.0], 15.0),
        (0.7, [0.5], [100.0], 100.0),
    ])
    func quantileInterpolation(q: Double, levels: [Double], values: [Double], expected: Double) {
        #expect(abs(Conformal.interpolate(q, levels: levels, values: values) - expected) < 1e-9)
    }

    @Test(arguments: cases)
    func rule(_ test: Case) {
        let plan = decide(test.observation, policy: test.policy)
        #expect(plan.action == test.action)
        #expect(plan.reason.description == test.reason)
        #expect(plan.limits.map(\.rawValue) == test.limits)
    }

    @Test func fallbackIsReportedAndForecastLoadIsTheQuantileMaximum() {
        let corrupt = decide(Self.observe(forecast: [], model: .corrupt), policy: Self.policy())
        #expect(corrupt.fallback == .corrupt && corrupt.basis == .reactive)
        // lead 300 s + step 300 s covers the first two steps only.
        let plan = decide(Self.observe(forecast: [300, 420, 9000]), policy: Self.policy())
        #expect(plan.forecastLoad == 420 && plan.fallback == nil)
    }

    @Test func invalidSpecsNameTheField() {
        let invalid: [(JSONValue, String)] = [
            (["target": ["kind": "Pod", "name": "x"]], "spec.target.kind"),
            (["target": ["kind": "Deployment", "name": "x"], "minCapacity": 5, "maxCapacity": 2], "spec.maxCapacity"),
            (
                [
                    "target": ["kind": "Deployment", "name": "x"],
                    "thresholds": ["scaleUpAbove": 30, "scaleDownBelow": 40],
                ], "spec.thresholds"
            ),
            (["target": ["kind": "Simulated", "name": "x"]], "spec.target.simulation"),
            (
                ["target": ["kind": "Deployment", "name": "x"], "model": ["artefact": "http://x"]],
                "spec.model.artefact"
            ),
        ]
        for (spec, field) in invalid {
            guard case .failure(let error) = PolicySpec.parse(spec) else {
                Issue.record("accepted \(spec)")
                continue
            }
            #expect(error.description.contains(field), "\(error)")
        }
    }
}
