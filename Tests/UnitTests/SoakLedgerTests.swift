import Autoscaler
import Foundation
import KubeCore
import Lab
import Testing

/// The soak's judge on hand-made ledgers: each broken invariant is found, and a clean ledger is clean.
@Suite struct SoakLedgerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func entry(
        _ sequence: Int, _ target: String, minute: Double, from: Int?, to: Int, id: String, by identity: String = "c1",
        duplicate: Bool = false
    ) -> SimulatorService.Entry {
        var json: JSONValue = [
            "seq": .integer(Int64(sequence)), "target": .string(target),
            "time": .string(Timestamps.formatMicro(t0.addingTimeInterval(minute * 60))),
            "capacity": .integer(Int64(to)), "actionId": .string(id), "identity": .string(identity),
            "received": .string(Timestamps.formatMicro(t0.addingTimeInterval(Double(sequence)))),
            "duplicate": .bool(duplicate),
        ]
        if let from { json["from"] = .integer(Int64(from)) }
        return SimulatorService.Entry(json: json)!
    }

    static func policy(_ target: String, last: String? = nil) -> SoakLedger.Policy {
        .init(
            target: target, scaleUpCooldown: 120, scaleDownCooldown: 300, staleAfter: 900, lastActionID: last,
            initialCapacity: 2)
    }

    static let lease = [
        SoakLedger.LeaseSample(time: t0, holder: "c1"), .init(time: t0.addingTimeInterval(100), holder: "c1"),
    ]

    @Test func instanceHoursFollowEachTargetsCapacity() {
        // d/a: 2 for 10 min, 4 for 20 min, 3 for 30 min (a duplicate changes nothing); d/b: 2 for the hour.
        let entries = [
            Self.entry(1, "d/a", minute: 10, from: 2, to: 4, id: "a1"),
            Self.entry(2, "d/a", minute: 12, from: 4, to: 4, id: "a1", duplicate: true),
            Self.entry(3, "d/a", minute: 30, from: 4, to: 3, id: "a2"),
        ]
        let hours = SoakLedger.instanceHours(
            entries: entries, policies: [Self.policy("d/a"), Self.policy("d/b")], start: Self.t0,
            end: Self.t0.addingTimeInterval(3600))
        #expect(abs(hours - ((2 * 10 + 4 * 20 + 3 * 30) / 60.0 + 2)) < 1e-9, "\(hours)")
    }

    @Test func aCleanLedgerIsClean() {
        let entries = [
            Self.entry(1, "d/a", minute: 0, from: nil, to: 4, id: "a1"),
            Self.entry(2, "d/a", minute: 0, from: 4, to: 4, id: "a1", duplicate: true),
            Self.entry(3, "d/a", minute: 5, from: 4, to: 6, id: "a2"),
            Self.entry(4, "d/a", minute: 15, from: 6, to: 5, id: "a3"),
            Self.entry(5, "d/a", minute: 25, from: 5, to: 4, id: "a4"),
        ]
        let verdict = SoakLedger.check(
            entries: entries, policies: [Self.policy("d/a", last: "a4")], gaps: [], lease: Self.lease)
        #expect(verdict.applied == 4 && verdict.deduplicatedRetries == 1)
        #expect(
            verdict
                == {
                    var v = SoakLedger.Verdict()
                    v.applied = 4
                    v.deduplicatedRetries = 1
                    return v
                }())
    }

    @Test func eachBrokenInvariantIsFound() {
        let entries = [
            // A scale-up repeated one minute after the first (inside the 120 s cooldown).
            Self.entry(1, "d/a", minute: 0, from: 2, to: 4, id: "a1"),
            Self.entry(2, "d/a", minute: 1, from: 4, to: 6, id: "a1-again"),
            // A scale-in in a metrics gap, past staleAfter.
            Self.entry(3, "d/b", minute: 40, from: 6, to: 5, id: "b1"),
            // An action by a replica that did not hold the lease.
            Self.entry(4, "d/c", minute: 0, from: 2, to: 3, id: "c1", by: "c2"),
        ]
        let gap = SimulatorService.Gap(
            target: nil, start: Self.t0.addingTimeInterval(20 * 60), end: Self.t0.addingTimeInterval(60 * 60))
        let verdict = SoakLedger.check(
            entries: entries,
            policies: [Self.policy("d/a"), Self.policy("d/b"), Self.policy("d/c"), Self.policy("d/e", last: "never")],
            gaps: [gap], lease: Self.lease)
        #expect(verdict.duplicateActions.count == 1 && verdict.duplicateActions[0].contains("#2"), "\(verdict)")
        #expect(verdict.staleScaleIns.count == 1 && verdict.staleScaleIns[0].contains("d/b"), "\(verdict)")
        #expect(verdict.nonLeaderActions.count == 1 && verdict.nonLeaderActions[0].contains("c2"), "\(verdict)")
        #expect(verdict.lostActions.count == 1 && verdict.lostActions[0].contains("d/e"), "\(verdict)")
    }

    @Test func anActionIDAppliedOnAnotherTargetIsStillLost() {
        let entries = [Self.entry(1, "d/a", minute: 0, from: 2, to: 4, id: "same")]
        let verdict = SoakLedger.check(
            entries: entries, policies: [Self.policy("d/a", last: "same"), Self.policy("d/b", last: "same")], gaps: [],
            lease: Self.lease)
        #expect(verdict.lostActions.count == 1 && verdict.lostActions[0].hasPrefix("d/b"), "\(verdict)")
    }

    /// The simulator's gap (every simulated target) is no gap for a group whose load the
    /// controller replays itself: its scale-in there had data (found by the 1,000-policy soak).
    @Test func aGapInTheSimulatorsLoadIsNoGapForALoadThatDoesNotComeFromIt() {
        let gap = SimulatorService.Gap(target: nil, start: Self.t0, end: Self.t0.addingTimeInterval(3600))
        let late = [
            Self.entry(1, "aws/g", minute: 20, from: 3, to: 2, id: "g1"),
            Self.entry(2, "d/b", minute: 20, from: 3, to: 2, id: "b1"),
        ]
        var group = Self.policy("aws/g")
        group.loadFromSimulator = false
        let verdict = SoakLedger.check(entries: late, policies: [group, Self.policy("d/b")], gaps: [gap], lease: [])
        #expect(verdict.staleScaleIns.count == 1 && verdict.staleScaleIns[0].hasPrefix("d/b"), "\(verdict)")
    }

    @Test func aScaleInBeforeTheDataWentStaleIsAllowed() {
        let gap = SimulatorService.Gap(target: "d/b", start: Self.t0, end: Self.t0.addingTimeInterval(3600))
        let early = [Self.entry(1, "d/b", minute: 10, from: 6, to: 5, id: "b1")]  // 600 s < staleAfter 900 s
        #expect(
            SoakLedger.check(entries: early, policies: [Self.policy("d/b")], gaps: [gap], lease: []).staleScaleIns
                .isEmpty)
    }
}
