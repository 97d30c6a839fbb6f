import Foundation

/// The world one pass acts on: where its status goes, the target it scales and where its Events go. The
/// controller's are the API server and the real target; the backtest's are memory and a simulated target.
public protocol PassEffects {
    /// Stores `status` in place of `old` (nothing when they are equal), with the process's memory of the policy.
    func writeStatus(_ status: PolicyStatus, replacing old: PolicyStatus, memory: PolicyMemory) async throws
    /// Sets the target's capacity; `actionID` names the decision, so a retry of it is recognised.
    func setCapacity(_ capacity: Int, at: Date, actionID: String) async throws
    func emit(_ events: [EventIntent]) async
}

/// What executing a pass did.
public enum PassOutcome: Sendable, Equatable {
    /// Nothing to act on: the status (if it changed) and the Events were written.
    case held
    case scaled(from: Int, to: Int)
    /// The target refused; the failure is in status (Ready=False ScalingFailed) and its Event.
    case scalingFailed(to: Int, error: String)
}

extension Step {
    /// Runs a pass's effects in the one order that makes a crash or a failed write anywhere harmless — record the
    /// intent (status with the pending action), act, confirm (status and the scaling Event) — then the pass's
    /// Events. The next pass finds the target at the pending capacity (confirmed) or not (dropped). The controller
    /// and the backtest both execute through here, so they cannot drift. Returns the status as last written.
    public static func execute(
        _ result: StepResult, previous: PolicyStatus, spec: PolicySpec, generation: Int, now: Date,
        on effects: some PassEffects
    ) async throws -> (status: PolicyStatus, outcome: PassOutcome) {
        guard case .scale(let to) = result.plan.action, let pending = result.status.pendingAction else {
            try await effects.writeStatus(result.status, replacing: previous, memory: result.memory)
            await effects.emit(result.events)
            return (result.status, .held)
        }
        try await effects.writeStatus(result.status, replacing: previous, memory: result.memory)
        do {
            try await effects.setCapacity(to, at: now, actionID: pending.id ?? "")
        } catch {
            let failure = failed(
                previous: result.status, generation: generation, now: now, reason: .scalingFailed,
                message: "setting capacity \(to): \(error)")
            try await effects.writeStatus(failure.status, replacing: result.status, memory: result.memory)
            await effects.emit(failure.events)
            return (failure.status, .scalingFailed(to: to, error: "\(error)"))
        }
        var confirmed = result.status
        var events = result.events
        confirm(&confirmed, events: &events, forecastNote: forecastNote(result.plan, spec: spec))
        try await effects.writeStatus(confirmed, replacing: result.status, memory: result.memory)
        await effects.emit(events)
        return (confirmed, .scaled(from: pending.from, to: to))
    }

    /// "; forecast load 123.4 at p80 within 600 s" when the decision used a forecast.
    static func forecastNote(_ plan: Plan, spec: PolicySpec) -> String {
        plan.forecastLoad.map {
            String(format: "; forecast load %.1f at p%.0f within %.0f s", $0, spec.quantile * 100, spec.actingHorizon)
        } ?? ""
    }
}
