import Foundation
import KubeCore
import PolicyEngine
import Testing

/// The learned lead time: rises of the desired capacity timed to their capacity in service, the p90 of the last
/// twenty used when the spec sets no `leadTimeSeconds`, kept in status across restarts.
@Suite struct LeadTimeTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    @Test func aRiseIsTimedToItsCapacityInService() {
        var tracker = LeadTimeTracker()
        tracker.observe(CapacityState(desired: 2, inService: 2), at: Self.at(0))
        tracker.raised(to: 4, at: Self.at(10))
        tracker.observe(CapacityState(desired: 4, inService: 3), at: Self.at(70))
        #expect(tracker.samples.isEmpty, "half of it is not a rise done")
        tracker.observe(CapacityState(desired: 4, inService: 4), at: Self.at(160))
        #expect(tracker.samples == [150])
        // Someone else raises it: timed from the pass that first saw it.
        tracker.observe(CapacityState(desired: 6, inService: 4), at: Self.at(400))
        tracker.observe(CapacityState(desired: 6, inService: 6), at: Self.at(445))
        #expect(tracker.samples == [150, 45])
        // A rise that was refused or lowered again before it came is no measurement.
        tracker.raised(to: 9, at: Self.at(500))
        tracker.observe(CapacityState(desired: 6, inService: 6), at: Self.at(515))
        // A rise first seen already in service: when it began is not known.
        tracker.observe(CapacityState(desired: 9, inService: 9), at: Self.at(900))
        #expect(tracker.samples == [150, 45])
        #expect(tracker.p90 == nil, "two samples are not enough")
        tracker.raised(to: 10, at: Self.at(1000))
        tracker.observe(CapacityState(desired: 10, inService: 10), at: Self.at(1090))
        #expect(tracker.samples == [150, 45, 90] && tracker.p90 == 150)
    }

    @Test func theP90OfTheLastTwentyIsUsedOnlyFromThreeOn() {
        var tracker = LeadTimeTracker(samples: [100, 200])
        #expect(tracker.p90 == nil)
        tracker = LeadTimeTracker(samples: (1...30).map { Double($0 * 10) } + [.nan, -5])
        #expect(tracker.samples.count == 20 && tracker.samples.first == 110, "the newest twenty, valid ones only")
        #expect(tracker.p90 == 280, "nearest rank: the 18th of 20 sorted")
    }

    static func spec(_ forecast: JSONValue = [:]) throws -> PolicySpec {
        try PolicySpec.parse([
            "target": ["kind": "Simulated", "name": "w", "simulation": [:]], "mode": "Reactive", "forecast": forecast,
            "metrics": ["stepSeconds": 60],
        ]).get()
    }

    /// Three scale-ups whose capacity comes into service 130 s later: a spec without `leadTimeSeconds` decides
    /// with 130 s from then on and says so in status; one that sets it keeps its own.
    @Test func aPolicyWithoutALeadTimeLearnsItsTargets() throws {
        let cases: [(JSONValue, (LeadTimeSource, Int))] = [
            ([:], (.learned, 130)), (["leadTimeSeconds": 600], (.spec, 600)),
        ]
        for (forecast, expected) in cases {
            let spec = try Self.spec(forecast)
            var status = PolicyStatus()
            var memory: PolicyMemory?
            var capacity = CapacityState(desired: 1, inService: 1)
            var time = 0.0
            var load = 50.0
            func pass() {
                let history = (0..<10).map {
                    LoadSample(time: Self.at(time - Double(9 - $0) * 60), load: load)
                }
                let result = Step.run(
                    spec: spec, generation: 1,
                    observation: Observation(now: Self.at(time), capacity: capacity, history: history),
                    previous: status, memory: memory)
                status = result.status
                memory = result.memory
                if case .scale(let to) = result.plan.action { capacity.desired = to }
            }
            #expect(memory == nil)
            pass()
            #expect(status.leadTime?.source == .fallback || status.leadTime?.source == .spec)
            for _ in 0..<3 {
                load *= 2.5  // Reactive adds capacity for it.
                time += 60
                pass()
                #expect(capacity.desired > capacity.inService)
                time += 130
                capacity.inService = capacity.desired
                pass()
            }
            #expect(status.leadTime?.source == expected.0, "\(String(describing: status.leadTime))")
            #expect(status.leadTime?.seconds == expected.1)
            #expect(status.leadTime?.samples == [130, 130, 130])
            // A new process reads the samples back from status.
            let restarted = PolicyMemory(seeding: status, now: Self.at(time))
            #expect(restarted.leadTime.samples == [130, 130, 130])
        }
    }
}
