import Foundation
import KubeCore
import Testing

@testable import PolicyEngine

/// `Step.fastCheck`, the check of the present load between step passes: it adds what the present load needs at
/// HPA's pace, and never scales in, acts twice for one need, or acts on a stale sample.
@Suite struct FastCheckTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func spec(_ extra: JSONValue = [:]) throws -> PolicySpec {
        try PolicySpec.parse(
            applyMergePatch(
                extra,
                to: [
                    "target": ["kind": "Deployment", "name": "web"], "mode": "Predictive", "minCapacity": 1,
                    "maxCapacity": 10, "metrics": ["source": "prometheus", "prometheus": ["query": "load"]],
                ])
        ).get()
    }

    /// `load` (instance-percent) sampled `age` seconds ago, on `desired` set (`inService` warm).
    static func check(
        _ spec: PolicySpec, load: Double, age: Double = 3, desired: Int, inService: Int? = nil,
        previous: PolicyStatus = PolicyStatus(), memory: PolicyMemory? = nil, at: Date = now
    ) -> StepResult? {
        Step.fastCheck(
            spec: spec, generation: 1,
            observation: Observation(
                now: at, capacity: .init(desired: desired, inService: inService ?? desired), history: [],
                newest: LoadSample(time: at.addingTimeInterval(-age), load: load)),
            previous: previous, memory: memory, policy: "uid")
    }

    @Test func aJumpIsMetAtHPAsPaceInTwoChecks() throws {
        let spec = try Self.spec()
        // 600 % at the 60 % target needs 10; one action adds max(4, 100 % of 2) = 4.
        let first = try #require(Self.check(spec, load: 600, desired: 2))
        #expect(first.plan.action == .scale(to: 6) && first.plan.limits.contains(.maxStepUp))
        #expect(first.status.pendingAction?.to == 6 && first.status.pendingAction?.reason == "PresentLoadAboveTarget")
        // 15 s on, the 6 are set (4 still warming): the rest, max(4, 100 % of 6) = 6 → 10.
        var confirmed = first.status
        var events: [EventIntent] = []
        Step.confirm(&confirmed, events: &events)
        let second = try #require(
            Self.check(
                spec, load: 600, desired: 6, inService: 2, previous: confirmed, memory: first.memory,
                at: Self.now.addingTimeInterval(15)))
        #expect(second.plan.action == .scale(to: 10))
    }

    @Test func oneNeedIsAddedOnce() throws {
        let spec = try Self.spec()
        let first = try #require(Self.check(spec, load: 290, desired: 2))
        #expect(first.plan.action == .scale(to: 5))
        // The next check finds the 5 set but 3 warming: the same need, nothing more — only the confirmation.
        let second = try #require(
            Self.check(
                spec, load: 290, desired: 5, inService: 2, previous: first.status, memory: first.memory,
                at: Self.now.addingTimeInterval(15)))
        #expect(second.plan.action == .hold && second.status.lastAction?.to == 5)
        #expect(second.events.map(\.reason) == [.scaledUp])
        #expect(
            Self.check(
                spec, load: 290, desired: 5, inService: 2, previous: second.status, memory: second.memory,
                at: Self.now.addingTimeInterval(30)) == nil)
    }

    @Test func itNeverScalesIn() throws {
        #expect(Self.check(try Self.spec(), load: 30, desired: 8) == nil)
        #expect(Self.check(try Self.spec(), load: 0, desired: 3) == nil)
    }

    @Test func aStaleSampleOrASuspendedPolicyDoesNothing() throws {
        #expect(Self.check(try Self.spec(), load: 900, age: 901, desired: 2) == nil)
        #expect(Self.check(try Self.spec(["suspend": true]), load: 900, desired: 2) == nil)
        #expect(
            Self.check(try Self.spec(["behavior": ["scaleUp": ["fastCheckSeconds": 0]]]), load: 900, desired: 2)?.plan
                .action == .scale(to: 6),
            "fastCheckSeconds 0 is the controller's to honour (it runs no check); the check itself still answers")
    }

    @Test func whatItAddedHoldsAgainstTheNextStepPassesScaleIn() throws {
        let spec = try Self.spec(["mode": "Reactive"])
        let fast = try #require(Self.check(spec, load: 580, desired: 6))
        #expect(fast.plan.action == .scale(to: 10))
        var confirmed = fast.status
        var events: [EventIntent] = []
        Step.confirm(&confirmed, events: &events)
        // The spike is gone by the step pass a minute later: the stabilization window keeps the 10.
        let at = Self.now.addingTimeInterval(60)
        let step = Step.run(
            spec: spec, generation: 1,
            observation: Observation(
                now: at, capacity: .init(desired: 10, inService: 10),
                history: [LoadSample(time: at.addingTimeInterval(-1), load: 120)]),
            previous: confirmed, memory: fast.memory, policy: "uid")
        #expect(step.plan.action == .hold && step.plan.limits.contains(.stabilizationWindow))
    }
}
