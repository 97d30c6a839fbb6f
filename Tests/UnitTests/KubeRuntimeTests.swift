import Foundation
import KubeClient
import KubeCore
import Synchronization
import TestSupport
import Testing

@Suite struct WorkQueueDriverTests {
    @Test func delayedAndRateLimitedAddsWakeOnTheClock() async throws {
        let clock = ManualClock()
        let queue = WorkQueue<String>(clock: clock)
        queue.add("later", after: .seconds(5))
        let got = Task { await queue.get() }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(4))
        try await Task.sleep(for: .milliseconds(20))
        #expect(queue.count == 0, "not due yet")
        clock.advance(by: .seconds(1))
        #expect(await got.value == "later")
        queue.done("later")

        // Failures back off 5 ms, 10 ms, 20 ms …; forget resets.
        for expected in [5, 10, 20] {
            queue.addRateLimited("failing")
            await clock.waitForSleepers(1)
            clock.advance(by: .milliseconds(expected - 1))
            #expect(queue.count == 0)
            clock.advance(by: .milliseconds(1))
            #expect(await queue.get() == "failing")
            queue.done("failing")
        }
        #expect(queue.retries("failing") == 3)
        queue.forget("failing")
        #expect(queue.retries("failing") == 0)
    }

    @Test func aKeyIsNeverProcessedTwiceAtOnceAndAddsCollapse() async {
        let queue = WorkQueue<String>(clock: ManualClock())
        queue.add("a")
        queue.add("a")
        #expect(queue.count == 1)
        let first = await queue.get()
        queue.add("a")  // while processing: queued again only after done
        #expect(queue.count == 0)
        queue.done(first!)
        #expect(queue.count == 1)
        #expect(await queue.get() == "a")
        queue.done("a")
    }

    @Test func workersDrainThenStopOnShutdown() async {
        let queue = WorkQueue<Int>(clock: ManualClock())
        for key in 0..<100 { queue.add(key) }
        let processed = Locked<[Int]>([])
        let workers = (0..<4).map { _ in
            Task {
                while let key = await queue.get() {
                    processed.withLock { $0.append(key) }
                    queue.done(key)
                }
            }
        }
        queue.shutDown()
        queue.add(999)  // refused after shutdown
        for worker in workers { await worker.value }
        #expect(processed.withLock { $0.sorted() } == Array(0..<100))
    }
}

@Suite struct LeaderElectionStateTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func expiryIsJudgedFromLocalObservationOnly() {
        var state = LeaderElectionState(identity: "b", leaseDuration: .seconds(15))
        // Another holder whose renewTime is far in the past by *its* clock: still trusted
        // until this process has seen the record unchanged for the lease duration.
        let held = LeaseRecord(
            holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: Self.now.addingTimeInterval(-3600),
            renewTime: Self.now.addingTimeInterval(-3600), leaseTransitions: 3)
        state.observe(held, now: .seconds(100))
        #expect(!state.mayAcquire(now: .seconds(114)))
        state.observe(held, now: .seconds(110))  // unchanged: the observation time stays
        #expect(state.mayAcquire(now: .seconds(115)))
        var renewed = held
        renewed.renewTime = Self.now
        state.observe(renewed, now: .seconds(116))  // a renewal restarts the clock
        #expect(!state.mayAcquire(now: .seconds(130)))
        let takeover = state.nextRecord(wallTime: Self.now)
        #expect(takeover.holderIdentity == "b" && takeover.leaseTransitions == 4 && takeover.acquireTime == Self.now)
    }

    @Test func renewalKeepsAcquireTimeAndReleaseClearsTheHolder() {
        var state = LeaderElectionState(identity: "a", leaseDuration: .seconds(15))
        #expect(state.mayAcquire(now: .zero), "no lease yet")
        let first = state.nextRecord(wallTime: Self.now)
        #expect(first.leaseTransitions == 0)
        state.observe(first, now: .zero)
        let renewal = state.nextRecord(wallTime: Self.now.addingTimeInterval(2))
        #expect(
            renewal.acquireTime == Self.now && renewal.renewTime == Self.now.addingTimeInterval(2)
                && renewal.leaseTransitions == 0)
        #expect(state.releaseRecord(wallTime: Self.now)?.holderIdentity == "")
        let released = LeaseRecord(
            holderIdentity: "", leaseDurationSeconds: 1, acquireTime: nil, renewTime: nil, leaseTransitions: 0)
        var other = LeaderElectionState(identity: "b", leaseDuration: .seconds(15))
        other.observe(released, now: .seconds(1))
        #expect(other.mayAcquire(now: .seconds(1)), "a released lease is free at once")
    }
}

@Suite struct EventAggregatorTests {
    static let key = EventAggregator.Key(
        object: "ScalingPolicy/default/web/uid", type: "Normal", reason: "ScaledUp", action: "Scale", note: "2 -> 3")

    @Test func repeatsBecomeASeriesWithinTheWindow() {
        var aggregator = EventAggregator()
        #expect(aggregator.record(Self.key, objectName: "web", suffix: "1", now: .zero) == .create(name: "web.1"))
        #expect(
            aggregator.record(Self.key, objectName: "web", suffix: "2", now: .seconds(60))
                == .updateSeries(name: "web.1", count: 2))
        var other = Self.key
        other.note = "3 -> 4"
        #expect(aggregator.record(other, objectName: "web", suffix: "3", now: .seconds(61)) == .create(name: "web.3"))
        #expect(
            aggregator.record(Self.key, objectName: "web", suffix: "4", now: .seconds(60 + 601))
                == .create(name: "web.4"), "outside the 10-minute window")
    }

    /// Many objects' events, then quiet: the sweeps drop their series once the window has
    /// passed and their buckets once refilled, so memory follows the objects active now.
    @Test func seriesAndBucketsOfQuietObjectsAreDropped() {
        var aggregator = EventAggregator(window: .seconds(600), burst: 25, refillPerSecond: 1.0 / 300)
        for index in 0..<1000 {
            var key = Self.key
            key.object = "ScalingPolicy/default/p\(index)/uid"
            _ = aggregator.record(key, objectName: "p\(index)", suffix: "1", now: .milliseconds(index))
        }
        #expect(aggregator.trackedCounts == (1000, 1000))
        // Inside the window every series is kept and still aggregates.
        var first = Self.key
        first.object = "ScalingPolicy/default/p0/uid"
        #expect(
            aggregator.record(first, objectName: "p0", suffix: "2", now: .seconds(300))
                == .updateSeries(name: "p0.1", count: 2))
        #expect(aggregator.trackedCounts.series == 1000)
        // After the window, a series is gone (and, refilled after 300 s, its bucket).
        _ = aggregator.record(Self.key, objectName: "web", suffix: "3", now: .seconds(1000))
        #expect(aggregator.trackedCounts == (1, 1), "\(aggregator.trackedCounts)")
        // A repeat after the window starts a new Event even before the next sweep.
        #expect(aggregator.record(first, objectName: "p0", suffix: "4", now: .seconds(1000)) == .create(name: "p0.4"))
    }

    @Test func aFlappingObjectIsRateLimited() {
        var aggregator = EventAggregator(burst: 5, refillPerSecond: 1.0 / 300)
        var decisions: [EventAggregator.Decision] = []
        for index in 0..<8 {
            var key = Self.key
            key.note = "flap \(index)"
            decisions.append(aggregator.record(key, objectName: "web", suffix: "\(index)", now: .seconds(index)))
        }
        #expect(decisions.prefix(5).allSatisfy { if case .create = $0 { return true } else { return false } })
        #expect(decisions.suffix(3) == [.drop, .drop, .drop])
        var later = Self.key
        later.note = "after the refill"
        #expect(aggregator.record(later, objectName: "web", suffix: "9", now: .seconds(310)) == .create(name: "web.9"))
    }
}
