import Autoscaler
import Forecasting
import Foundation
import KubeCore
import PolicyEngine
import Simulation
import Testing

/// A trace small enough to account by hand (see the comments): 100 units of load for 60
/// steps, then 300; 2 instances to start, 5-minute warm-up, target 60 %, SLO 80 %.
@Suite struct BacktestTests {
    @Test func reactiveOnAStepChangeMatchesTheHandCount() async throws {
        let demand = [Double](repeating: 100, count: 60) + [Double](repeating: 300, count: 20)
        let policy = try PolicySpec.parse([
            "target": ["kind": "Simulated", "name": "x", "simulation": [:]], "mode": "Reactive", "minCapacity": 1,
            "maxCapacity": 10,
        ]).get()
        var options = Backtest.Options(startIndex: 50)
        options.initialCapacity = 2
        let start = Date(timeIntervalSince1970: 0)
        let trace = Trace(
            start: start, step: 300, demand: demand,
            table: TimeSeriesTable(timestamps: [], columns: [:], columnNames: []))
        let result = await Backtest.run(
            name: "reactive", policy: policy, trace: trace, forecaster: nil, events: [], options: options)
        // Decisions at steps 50…79 (30 intervals), each just after its sample, which saturates
        // with the capacity in service at the sample's time (what the controller observes).
        // Step 59 still sees 100 → hold; the interval after it carries 300 on 2 instances
        // (overload 1, 2 instances short). Step 60 sees the load saturated at 200 (2 × 100 %)
        // → 4; they warm up through the next interval (overload 2, 2 short). Step 61's sample
        // still saturates on 2 (the 4 are in service one second later) → 4, hold; 4 carry 300
        // at 75 %. Step 62 sees 300 → 5. No more overload.
        #expect(result.steps == 30)
        #expect(result.overloadIntervals == 2)
        #expect(result.underProvisionedInstanceMinutes == 20)
        #expect(result.scalingActions == 2)
        #expect(result.actions.map(\.capacity) == [4, 5])
        // Capacity set per interval: 10 × 2, then 4, 4, then 18 × 5 = 118 instance-intervals of 5 min.
        #expect(abs(result.instanceHours - 118.0 * 300 / 3600) < 1e-9)
    }
}
