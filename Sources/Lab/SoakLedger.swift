import CLI
import Commands
import Foundation
import Simulation

/// The soak's verdict from the target side's ledger (`SimulatorService` entries), checked
/// against what the decisions must respect — a pure function, so its rules are unit-tested
/// on hand-made ledgers:
///
/// - a *duplicate action* is an applied change in the same direction as the previous one on
///   that target, inside that direction's cooldown (a decision applied twice: retried after a
///   crash, or taken again by a new leader that did not see the first);
/// - a *lost action* is a policy whose last recorded action (status.lastAction.id) never
///   reached the target;
/// - a *stale scale-in* is a decrease while the target reported no load for longer than the
///   policy's staleAfter (a metrics gap — of the simulator's load, so only for policies that
///   read their load from it);
/// - a *non-leader action* is a change sent by a replica that did not hold the lease when it
///   arrived (by the lease samples on either side of it; changes whose sender is unknown —
///   an Auto Scaling group's, seen at the proxy — are not judged by this rule).
public enum SoakLedger {
    public struct Policy: Sendable {
        public var target: String
        public var scaleUpCooldown: TimeInterval
        public var scaleDownCooldown: TimeInterval
        public var staleAfter: TimeInterval
        /// status.lastAction.id at the end, if any.
        public var lastActionID: String?
        /// The capacity before the first change.
        public var initialCapacity: Int?
        /// Whether its load comes from the simulator, where metrics gaps are made (an Auto
        /// Scaling group's replays its trace in the controller and has no gap).
        public var loadFromSimulator: Bool

        public init(
            target: String, scaleUpCooldown: TimeInterval, scaleDownCooldown: TimeInterval, staleAfter: TimeInterval,
            lastActionID: String?, initialCapacity: Int? = nil, loadFromSimulator: Bool = true
        ) {
            self.target = target
            self.loadFromSimulator = loadFromSimulator
            self.initialCapacity = initialCapacity
            self.scaleUpCooldown = scaleUpCooldown
            self.scaleDownCooldown = scaleDownCooldown
            self.staleAfter = staleAfter
            self.lastActionID = lastActionID
        }
    }

    /// The lease holder seen at a wall time (nil: nobody, or the API server was down).
    public struct LeaseSample: Sendable {
        public var time: Date
        public var holder: String?

        public init(time: Date, holder: String?) {
            self.time = time
            self.holder = holder
        }
    }

    public struct Verdict: Sendable, Equatable {
        public var applied = 0
        public var deduplicatedRetries = 0
        public var duplicateActions: [String] = []
        public var lostActions: [String] = []
        public var staleScaleIns: [String] = []
        public var nonLeaderActions: [String] = []
        public init() {}
    }

    /// Instance-hours paid over [start, end]: each policy's target at its initial capacity, then at each applied
    /// change from its time on (duplicates changed nothing). Policies without a known initial capacity are left out.
    public static func instanceHours(
        entries: [SimulatorService.Entry], policies: [Policy], start: Date, end: Date
    ) -> Double {
        guard end > start else { return 0 }
        let byTarget = Dictionary(grouping: entries.filter { !$0.duplicate }, by: \.target)
        var total = 0.0
        for policy in policies {
            guard var capacity = policy.initialCapacity else { continue }
            var since = start
            for change in (byTarget[policy.target] ?? []).sorted(by: { $0.sequence < $1.sequence }) {
                let at = min(max(change.time, start), end)
                total += Double(capacity) * at.timeIntervalSince(since)
                (capacity, since) = (change.capacity, at)
            }
            total += Double(capacity) * end.timeIntervalSince(since)
        }
        return total / 3600
    }

    public static func check(
        entries: [SimulatorService.Entry], policies: [Policy], gaps: [SimulatorService.Gap], lease: [LeaseSample]
    ) -> Verdict {
        var verdict = Verdict()
        let applied = entries.filter { !$0.duplicate }
        verdict.applied = applied.count
        verdict.deduplicatedRetries = entries.count - applied.count
        let byTarget = Dictionary(grouping: applied, by: \.target)
        let appliedIDs = Set(applied.map { "\($0.target)|\($0.actionID)" })
        let sortedLease = lease.sorted { $0.time < $1.time }

        for policy in policies {
            let changes = (byTarget[policy.target] ?? []).sorted { $0.sequence < $1.sequence }
            var lastUp: Date?
            var lastDown: Date?
            for change in changes {
                guard let from = change.from ?? policy.initialCapacity, from != change.capacity else { continue }
                let up = change.capacity > from
                let describe = "\(change.target) #\(change.sequence) \(from)→\(change.capacity) at \(change.time)"
                if up, let last = lastUp, change.time.timeIntervalSince(last) < policy.scaleUpCooldown {
                    verdict.duplicateActions.append(
                        describe + " (scale-up \(Int(change.time.timeIntervalSince(last))) s after the last)")
                }
                if !up, let last = lastDown, change.time.timeIntervalSince(last) < policy.scaleDownCooldown {
                    verdict.duplicateActions.append(
                        describe + " (scale-down \(Int(change.time.timeIntervalSince(last))) s after the last)")
                }
                if up { lastUp = change.time } else { lastDown = change.time }
                if !up, policy.loadFromSimulator {
                    for gap in gaps where gap.target == nil || gap.target == policy.target {
                        if change.time >= gap.start.addingTimeInterval(policy.staleAfter), change.time < gap.end {
                            verdict.staleScaleIns.append(describe + " (no load since \(gap.start))")
                        }
                    }
                }
            }
            if let id = policy.lastActionID, !id.isEmpty, !appliedIDs.contains("\(policy.target)|\(id)") {
                verdict.lostActions.append("\(policy.target): status.lastAction \(id) never reached the target")
            }
        }

        for change in applied where !change.identity.isEmpty {
            let before = sortedLease.last { $0.time <= change.received }
            let after = sortedLease.first { $0.time >= change.received }
            // Only a sample on each side naming someone else is a violation (sampling is coarse).
            if let before, let after, let a = before.holder, let b = after.holder, a != change.identity,
                b != change.identity
            {
                verdict.nonLeaderActions.append(
                    "\(change.target) #\(change.sequence) by \(change.identity) while \(a) held the lease")
            }
        }
        return verdict
    }
}
