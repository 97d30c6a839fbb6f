import Foundation
import KubeCore
import PolicyEngine
import Synchronization
import Testing

/// `Step.execute`, the one executor of a pass for the controller and the backtest: the order of its effects, what
/// a refused action leaves, and that a hold acts on nothing.
@Suite struct PassExecutionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Every effect in the order it was asked for; `refuse` makes the target fail.
    final class Recorder: PassEffects, Sendable {
        enum Effect: Equatable {
            case write(pending: Int?, last: Int?, ready: String?)
            case set(Int, id: String)
            case emit([String])
        }
        let effects = Mutex<[Effect]>([])
        let refuse: Bool
        init(refuse: Bool = false) { self.refuse = refuse }

        func writeStatus(_ status: PolicyStatus, replacing old: PolicyStatus, memory: PolicyMemory) async throws {
            guard status != old else { return }
            let ready = status.conditionList.condition(.ready).map { "\($0.status.rawValue) \($0.reason)" }
            effects.withLock {
                $0.append(.write(pending: status.pendingAction?.to, last: status.lastAction?.to, ready: ready))
            }
        }

        func setCapacity(_ capacity: Int, at: Date, actionID: String) async throws {
            effects.withLock { $0.append(.set(capacity, id: actionID)) }
            if refuse { throw TargetRefused() }
        }

        func emit(_ events: [EventIntent]) async {
            effects.withLock { $0.append(.emit(events.map { "\($0.type.rawValue) \($0.reason)" })) }
        }

        var all: [Effect] { effects.withLock { $0 } }
    }

    struct TargetRefused: Error, CustomStringConvertible {
        var description: String { "the group is being deleted" }
    }

    /// A Reactive pass at `load` on 2 instances (target 60 %).
    static func pass(load: Double) throws -> (StepResult, PolicySpec) {
        let spec = try PolicySpec.parse([
            "target": ["kind": "Simulated", "name": "w", "simulation": [:]], "mode": "Reactive",
            "minCapacity": 1, "maxCapacity": 10,
        ]).get()
        let history = (0..<3).map { LoadSample(time: now.addingTimeInterval(Double($0 - 2) * 300), load: load) }
        let observation = Observation(now: now, capacity: .init(desired: 2, inService: 2), history: history)
        let result = Step.run(
            spec: spec, generation: 3, observation: observation, previous: PolicyStatus(), memory: nil, policy: "uid-1")
        return (result, spec)
    }

    @Test func aScaleRecordsTheIntentActsThenConfirmsAndEmitsAfter() async throws {
        let (result, spec) = try Self.pass(load: 200)
        let world = Recorder()
        let (status, outcome) = try await Step.execute(
            result, previous: PolicyStatus(), spec: spec, generation: 3, now: Self.now, on: world)
        #expect(outcome == .scaled(from: 2, to: 4))
        let id = try #require(result.status.pendingAction?.id)
        #expect(id.hasPrefix("uid-1-g3-"), "the action id names the policy and the decision: \(id)")
        #expect(
            world.all == [
                .write(pending: 4, last: nil, ready: "True Reconciled"), .set(4, id: id),
                .write(pending: nil, last: 4, ready: "True Reconciled"),
                .emit(["Normal ScaledUp"]),
            ])
        #expect(status.pendingAction == nil && status.lastAction?.to == 4 && status.lastScaleUpTime == Self.now)
    }

    @Test func aRefusedActionLeavesTheIntentAndAFailureNoCooldown() async throws {
        let (result, spec) = try Self.pass(load: 200)
        let world = Recorder(refuse: true)
        let (status, outcome) = try await Step.execute(
            result, previous: PolicyStatus(), spec: spec, generation: 3, now: Self.now, on: world)
        #expect(outcome == .scalingFailed(to: 4, error: "the group is being deleted"))
        let id = try #require(result.status.pendingAction?.id)
        #expect(
            world.all == [
                .write(pending: 4, last: nil, ready: "True Reconciled"), .set(4, id: id),
                .write(pending: 4, last: nil, ready: "False ScalingFailed"),
                .emit(["Warning ScalingFailed"]),
            ])
        // The next pass finds the target not there and drops the intent: no cooldown was started.
        #expect(status.lastScaleUpTime == nil && status.lastAction == nil)
        let ready = try #require(status.conditionList.condition(.ready))
        #expect(ready.message == "setting capacity 4: the group is being deleted")
    }

    @Test func aHoldWritesWhatChangedAndActsOnNothing() async throws {
        let (result, spec) = try Self.pass(load: 120)
        let world = Recorder()
        let (status, outcome) = try await Step.execute(
            result, previous: PolicyStatus(), spec: spec, generation: 3, now: Self.now, on: world)
        #expect(outcome == .held)
        #expect(world.all == [.write(pending: nil, last: nil, ready: "True Reconciled"), .emit([])])
        #expect(status == result.status)
    }
}
