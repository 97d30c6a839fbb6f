import Foundation
import KubeCore
import Testing

@testable import Autoscaler

@Suite struct PolicyHistoryTests {
    @Test(arguments: [
        (limit: 3, appended: 0), (limit: 3, appended: 2), (limit: 3, appended: 3), (limit: 3, appended: 7),
        (limit: 1, appended: 5),
    ])
    func ringKeepsTheNewestInOrder(limit: Int, appended: Int) {
        var ring = Ring<Int>(limit: limit)
        for value in 0..<appended { ring.append(value) }
        let expected = Array((0..<appended).suffix(limit))
        #expect(ring.elements == expected)
        #expect(ring.last == expected.last)
        #expect(ring.count == expected.count)
    }

    @Test func ringFollowsAChangedLimit() {
        var ring = Ring<Int>(limit: 4)
        for value in 0..<6 { ring.append(value) }  // wrapped: 2 3 4 5
        ring.limit = 2
        ring.append(6)
        #expect(ring.elements == [5, 6])
        ring.limit = 4
        ring.append(7)
        ring.append(8)
        ring.append(9)
        #expect(ring.elements == [6, 7, 8, 9])
        ring.append(10)
        #expect(ring.elements == [7, 8, 9, 10] && ring.last == 10)
    }

    @Test func samplesArePackedLosslesslyEnoughAndSmall() {
        #expect(MemoryLayout<PolicyHistory.Packed>.stride == 48)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let full = PolicyHistory.Sample(
            time: t0, load: 123.25, forecastTime: t0.addingTimeInterval(300), forecast: 140.5, median: 130, low: 120,
            high: 150.75,
            currentCapacity: 3, inServiceCapacity: 2, desiredCapacity: 4)
        #expect(PolicyHistory.Packed(full).sample == full)
        let empty = PolicyHistory.Sample(
            time: t0, load: nil, currentCapacity: 1, inServiceCapacity: 1, desiredCapacity: 1)
        #expect(PolicyHistory.Packed(empty).sample == empty)
    }

    @Test func manyPoliciesShareTheMemoryBudget() {
        let history = PolicyHistory(sampleLimit: 288, memoryBudget: 48 * 1000)
        #expect(history.samplesPerPolicy(policies: 1) == 288)
        #expect(history.samplesPerPolicy(policies: 10) == 100)
        #expect(history.samplesPerPolicy(policies: 1000) == PolicyHistory.minimumSamples)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        for minute in 0..<300 {
            history.record(
                "a/one",
                .init(
                    time: t0.addingTimeInterval(Double(minute) * 60), load: 1, currentCapacity: 1, inServiceCapacity: 1,
                    desiredCapacity: 1))
        }
        #expect(history.samples("a/one").count == 288)
        for index in 0..<9 {
            history.record(
                "a/p\(index)", .init(time: t0, load: 1, currentCapacity: 1, inServiceCapacity: 1, desiredCapacity: 1))
        }
        history.record(
            "a/one",
            .init(
                time: t0.addingTimeInterval(300 * 60), load: 1, currentCapacity: 1, inServiceCapacity: 1,
                desiredCapacity: 1))
        let kept = history.samples("a/one")
        #expect(kept.count == 100, "ten policies: 100 samples each")
        #expect(
            kept.last?.time == t0.addingTimeInterval(300 * 60) && kept.first?.time == t0.addingTimeInterval(201 * 60),
            "the newest kept")
    }

    @Test func recordsPerPolicyAndCountsChanges() {
        let history = PolicyHistory(sampleLimit: 2, actionLimit: 1)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        func sample(_ minutes: Double, _ capacity: Int) -> PolicyHistory.Sample {
            .init(
                time: t0.addingTimeInterval(minutes * 60), load: 10, currentCapacity: capacity,
                inServiceCapacity: capacity, desiredCapacity: capacity)
        }
        #expect(history.version == 0)
        history.record("a/x", sample(0, 2))
        history.record(
            "a/x", sample(5, 3),
            action: .init(from: 2, to: 3, reason: "ForecastAboveTarget", time: t0.addingTimeInterval(300)))
        history.record(
            "a/x", sample(10, 4),
            action: .init(from: 3, to: 4, reason: "ForecastAboveTarget", time: t0.addingTimeInterval(600)))
        history.record("b/y", sample(0, 1))
        #expect(history.version == 4)
        #expect(history.samples("a/x").map(\.currentCapacity) == [3, 4])
        #expect(history.actions("a/x").map(\.to) == [4])
        #expect(history.samples("b/y").last?.currentCapacity == 1)
        history.forget("a/x")
        history.forget("a/x")
        #expect(history.version == 5, "forgetting an unknown key changes nothing")
        #expect(history.samples("a/x").isEmpty)
    }

    @Test func eventViewReadsCoreAndSeriesFields() {
        let core: JSONValue = [
            "type": "Normal", "reason": "ScaledUp", "message": "capacity 2 -> 3", "count": 4,
            "lastTimestamp": "2026-11-29T10:00:00Z",
            "source": ["component": "forescale.io/controller"],
        ]
        #expect(
            DashboardAPI.event(core) == [
                "type": "Normal", "reason": "ScaledUp", "message": "capacity 2 -> 3", "count": 4,
                "lastTime": "2026-11-29T10:00:00Z", "source": "forescale.io/controller",
            ])
        let series: JSONValue = [
            "type": "Warning", "reason": "ModelRejected", "note": "worse than the champion",
            "reportingComponent": "forescale.io/trainer",
            "series": ["count": 2, "lastObservedTime": "2026-11-29T11:00:00.000000Z"],
            "eventTime": "2026-11-29T09:00:00.000000Z",
        ]
        #expect(
            DashboardAPI.event(series) == [
                "type": "Warning", "reason": "ModelRejected", "message": "worse than the champion", "count": 2,
                "lastTime": "2026-11-29T11:00:00.000000Z", "source": "forescale.io/trainer",
            ])
    }

    @Test func historyListsPromotionsNewestFirst() {
        let policy: JSONValue = [
            "metadata": ["namespace": "shop", "name": "web"],
            "spec": ["mode": "Predictive", "target": ["kind": "Simulated", "name": "web"]],
            "status": ["training": ["promoted": true, "challengerVersion": "abc123"]],
        ]
        let events: [JSONValue] = [
            ["type": "Normal", "reason": "ModelPromoted", "message": "first", "lastTimestamp": "2026-11-01T00:00:00Z"],
            ["type": "Normal", "reason": "ScaledUp", "message": "scale", "lastTimestamp": "2026-11-02T00:00:00Z"],
            [
                "type": "Warning", "reason": "ModelRejected", "message": "second",
                "lastTimestamp": "2026-11-03T00:00:00Z",
            ],
        ]
        let page = DashboardAPI.history(
            policy: policy, samples: [], actions: [], events: events, generatedAt: Date(timeIntervalSince1970: 0))
        #expect(page["promotions"]?.arrayValue?.map { $0["message"] } == ["second", "first"])
        #expect(page["events"]?.arrayValue?.count == 3)
        #expect(page["training"] == ["promoted": true, "challengerVersion": "abc123"])
        #expect(page.value(at: ["policy", "namespace"]) == "shop")
        #expect(page.value(at: ["policy", "model", "ready"]) == .null, "no ModelReady condition yet")
        #expect(page["forecastQuantile"] == .number(0.8) && page["leadTimeSeconds"] == 300)
    }
}
