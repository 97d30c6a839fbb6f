import Autoscaler
import Foundation
import PolicyEngine

/// The simulated world as a `TargetPlugin`: a `Simulated` policy replays its trace (the seed generator or a CSV
/// under the file roots) in this process, its trace shifted so the replay lines up with `anchor`.
public struct SimulationPlugin: TargetPlugin {
    /// Trace time is shifted by whole weeks so virtual time lines up with it (time of day and weekday kept).
    public let anchor: Date

    public init(anchor: Date) { self.anchor = anchor }

    public func binding(namespace: String, spec: PolicySpec, target: (any ScalingTarget)?, fileRoots: FileRoots) throws
        -> TargetRegistry.Binding
    {
        let replay = try Self.checkedTarget(spec: spec, anchor: anchor, fileRoots: fileRoots)
        return TargetRegistry.Binding(target: target ?? replay, metrics: replay)
    }

    /// `target(spec:anchor:)` once the trace is known to lie under `fileRoots` ("seed" is built in).
    public static func checkedTarget(spec: PolicySpec, anchor: Date, fileRoots: FileRoots) throws
        -> SimulatedTargetAdapter
    {
        if let trace = spec.simulation?.trace, trace != "seed", fileRoots.resolve(trace) == nil {
            throw TargetError.notFound(fileRoots.refusal(trace, what: "simulation trace"))
        }
        return try target(spec: spec, anchor: anchor)
    }

    /// The simulated target of `spec`, its trace shifted by whole weeks so that step
    /// `startOffsetSteps` falls at or before `anchor` (within a week). Whole weeks keep the
    /// time of day and the day of the week, which models take as inputs: a model trained on
    /// the original trace sees the same features in the replay. Any anchor in the same week
    /// gives the same shift, so a trainer asked later (its `now` as anchor) reads the part of
    /// the trace the controller replays.
    public static func target(spec: PolicySpec, anchor: Date) throws -> SimulatedTargetAdapter {
        guard let simulation = spec.simulation else {
            throw TargetError.unsupported("spec.target.simulation is required")
        }
        let trace = try TraceLibrary.trace(simulation.trace, loadScale: simulation.loadScale)
        let start = shiftedStart(
            traceStart: trace.start, step: trace.step, offsetSteps: simulation.startOffsetSteps, anchor: anchor)
        let shift = start.timeIntervalSince(trace.start)
        let inputs = spec.metricsSource == .simulated ? spec.inputs.map(\.name) : []
        guard
            let target = SimulatedTarget(
                trace: trace.shifted(by: shift), warmup: simulation.warmupSeconds,
                initialCapacity: simulation.initialCapacity, inputs: inputs)
        else {
            throw TargetError.notFound(
                "\(simulation.trace): the trace has no column for every input (\(inputs.joined(separator: ", ")))")
        }
        return SimulatedTargetAdapter(target, timeShift: shift)
    }

    public static func shiftedStart(traceStart: Date, step: Double, offsetSteps: Int, anchor: Date) -> Date {
        let offsetTime = traceStart.addingTimeInterval(Double(offsetSteps) * step)
        let weeks = (anchor.timeIntervalSince(offsetTime) / 604_800).rounded(.down)
        return traceStart.addingTimeInterval(weeks * 604_800)
    }
}
