import Autoscaler
import Forecasting
import Foundation
import PolicyEngine

/// A load trace at a fixed step: the demand (instance-percent: 100 = one instance fully
/// busy) per step from `start`, and the table it came from.
public struct Trace: Sendable {
    public var start: Date
    public var step: Double
    public var demand: [Double]
    public var table: TimeSeriesTable

    public init(start: Date, step: Double, demand: [Double], table: TimeSeriesTable) {
        self.start = start
        self.step = step
        self.demand = demand
        self.table = table
    }

    /// The same demand moved in time by `shift` seconds.
    public func shifted(by shift: TimeInterval) -> Trace {
        var moved = self
        moved.start = start.addingTimeInterval(shift)
        return moved
    }
}

/// A trace replayed against a capacity the controller sets — a pure value, shared by the
/// controller's simulated targets and the backtest, so both see the same world.
///
/// Demand comes from the trace; capacity increases take effect after `warmup`, decreases at
/// once. The load a monitor observes at a sample's time saturates with the capacity in
/// service then (demand above 100 % × in service is overload, not measured).
public struct SimulatedTarget: Sendable, Equatable {
    public struct Change: Sendable, Equatable {
        public var time: Date
        public var capacity: Int
    }

    public let start: Date
    public let step: Double
    public let demand: [Double]
    public let warmup: Double
    /// Every capacity set, oldest first; the first is the initial capacity.
    public private(set) var changes: [Change]
    /// Covariate columns of the trace, as a monitor reads them (not capped by capacity:
    /// requests and bytes arrive whatever serves them).
    public let inputColumns: [[Double]]

    /// `inputs` names trace columns to report as covariates; nil when one is missing.
    public init?(trace: Trace, warmup: Double, initialCapacity: Int, inputs: [String]) {
        var columns: [[Double]] = []
        for name in inputs {
            guard let column = trace.table.columns[name], column.count == trace.demand.count else { return nil }
            columns.append(column.map(Double.init))
        }
        self.init(trace: trace, warmup: warmup, initialCapacity: initialCapacity, columns: columns)
    }

    public init(trace: Trace, warmup: Double, initialCapacity: Int) {
        self.init(trace: trace, warmup: warmup, initialCapacity: initialCapacity, columns: [])
    }

    private init(trace: Trace, warmup: Double, initialCapacity: Int, columns: [[Double]]) {
        start = trace.start
        step = trace.step
        demand = trace.demand
        self.warmup = warmup
        changes = [Change(time: .distantPast, capacity: initialCapacity)]
        inputColumns = columns
    }

    /// The capacities set after the initial one.
    public var changeLog: [Change] { Array(changes.dropFirst()) }

    public mutating func setCapacity(_ capacity: Int, at time: Date) {
        changes.append(Change(time: time, capacity: capacity))
    }

    /// The trace row covering `time` (clamped to the trace).
    public func row(at time: Date) -> Int {
        let offset = (time.timeIntervalSince(start) / step).rounded(.down)
        guard offset.isFinite else { return 0 }
        return Int(min(max(offset, 0), Double(max(0, demand.count - 1))))
    }

    public func demand(at time: Date) -> Double {
        demand.isEmpty ? 0 : demand[row(at: time)]
    }

    /// Capacity set, and in service, at `time` (increases count after the warm-up).
    public func capacity(at time: Date) -> CapacityState {
        var desired = changes.first?.capacity ?? 0
        var inService = desired
        for change in changes where change.time <= time {
            desired = change.capacity
            // In service: the last capacity whose warm-up has passed; decreases apply at once.
            if change.capacity < inService || change.time.addingTimeInterval(warmup) <= time {
                inService = change.capacity
            }
        }
        return CapacityState(desired: desired, inService: inService)
    }

    /// The last `steps` samples at or before `now`, oldest first: demand at each sample's
    /// time, saturated at 100 % × the capacity in service then.
    public func loadHistory(until now: Date, steps: Int) -> [LoadSample] {
        guard !demand.isEmpty, steps > 0 else { return [] }
        let offset = (now.timeIntervalSince(start) / step).rounded(.down)
        guard offset.isFinite, offset >= 0 else { return [] }
        let last = Int(min(offset, Double(Int32.max)))
        return (max(0, last - steps + 1)...last).map { index in
            let time = start.addingTimeInterval(Double(index) * step)
            let inService = Double(max(1, capacity(at: time).inService))
            let row = row(at: time)
            return LoadSample(time: time, load: min(demand[row], 100 * inService), inputs: inputColumns.map { $0[row] })
        }
    }
}
