import Foundation
import KubeClient
import KubeCore
import Synchronization
import TestSupport
import Testing

/// A lease lock that a test can cut off the network (a partitioned leader).
final class PartitionableLock: LeaseLock, Sendable {
    let inner: KubernetesLeaseLock
    let isPartitioned = Atomic<Bool>(false)

    init(_ inner: KubernetesLeaseLock) { self.inner = inner }

    private func check() throws(KubeError) {
        if isPartitioned.load(ordering: .acquiring) { throw .transport(.connectFailed("partitioned by the test")) }
    }

    func get() async throws(KubeError) -> (record: LeaseRecord, resourceVersion: String)? {
        try check()
        return try await inner.get()
    }

    func create(_ record: LeaseRecord) async throws(KubeError) {
        try check()
        try await inner.create(record)
    }

    func update(_ record: LeaseRecord, resourceVersion: String) async throws(KubeError) {
        try check()
        try await inner.update(record, resourceVersion: resourceVersion)
    }
}

/// Two electors on one Lease in the embedded server, driven by a manual clock.
@Suite struct LeaderElectionTests {
    static func candidate(
        _ identity: String, client: KubernetesClient, clock: ManualClock, releaseOnCancel: Bool = true
    ) -> (LeaderElector, PartitionableLock) {
        let lock = PartitionableLock(
            KubernetesLeaseLock(client: client, namespace: "default", name: "forescale-controller"))
        var configuration = LeaderElector.Configuration(identity: identity)
        configuration.releaseOnCancel = releaseOnCancel
        return (LeaderElector(lock: lock, configuration: configuration, clock: clock), lock)
    }

    /// Advances the manual clock one second at a time, letting both loops settle between steps
    /// (each sleeps on the clock again), and checks the two never lead at once.
    static func step(_ clock: ManualClock, seconds: Int, sleepers: Int, _ electors: [LeaderElector]) async {
        for _ in 0..<seconds {
            clock.advance(by: .seconds(1))
            await clock.waitForSleepers(sleepers)
            #expect(electors.filter(\.isLeader).count <= 1, "two leaders at once")
        }
    }

    @Test func exactlyOneLeaderTakeoverAfterPartitionWithoutOverlap() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let (a, lockA) = Self.candidate("a", client: client, clock: clock)
        let (b, _) = Self.candidate("b", client: client, clock: clock)
        let taskA = Task { await a.run { try? await Task.sleep(for: .seconds(3600)) } }
        await clock.waitForSleepers(1)
        let taskB = Task { await b.run { try? await Task.sleep(for: .seconds(3600)) } }
        await clock.waitForSleepers(2)
        #expect(a.isLeader && !b.isLeader, "the first candidate acquired the new lease")
        let lease = try await client.get(.leases, namespace: "default", name: "forescale-controller")
        #expect(lease.value(at: ["spec", "holderIdentity"]) == "a")

        await Self.step(clock, seconds: 20, sleepers: 2, [a, b])
        #expect(a.isLeader && !b.isLeader, "renewals keep the leader")

        // Partition the leader: it must stop within renewDeadline (10 s), and b take over only
        // after leaseDuration (15 s) of its own observation — never both at once.
        lockA.isPartitioned.store(true, ordering: .releasing)
        var stoppedAfter: Int?
        var takenAfter: Int?
        for second in 1...20 {
            clock.advance(by: .seconds(1))
            // Both loops asleep again (a's ends once it stops leading).
            let settled = ContinuousClock.now + .seconds(30)
            while clock.sleeperCount < (a.isLeader ? 2 : 1), ContinuousClock.now < settled {
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(!(a.isLeader && b.isLeader), "overlap at \(second) s")
            if stoppedAfter == nil && !a.isLeader { stoppedAfter = second }
            if takenAfter == nil && b.isLeader { takenAfter = second }
        }
        print(
            "leader election: partitioned leader stopped after \(stoppedAfter ?? -1) s, successor took over after \(takenAfter ?? -1) s"
        )
        #expect((stoppedAfter ?? 99) <= 11, "the partitioned leader stopped after \(stoppedAfter ?? -1) s")
        #expect(takenAfter != nil && takenAfter! > stoppedAfter!, "b took over after \(takenAfter ?? -1) s")
        let after = try await client.get(.leases, namespace: "default", name: "forescale-controller")
        #expect(after.value(at: ["spec", "holderIdentity"]) == "b")
        #expect(after.value(at: ["spec", "leaseTransitions"]) == 1)
        taskA.cancel()
        taskB.cancel()
        await taskA.value
        await taskB.value
    }

    @Test func gracefulShutdownReleasesTheLeaseForAnImmediateTakeover() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let (a, _) = Self.candidate("a", client: client, clock: clock)
        let (b, _) = Self.candidate("b", client: client, clock: clock)
        let taskA = Task { await a.run { try? await Task.sleep(for: .seconds(3600)) } }
        await clock.waitForSleepers(1)
        let taskB = Task { await b.run { try? await Task.sleep(for: .seconds(3600)) } }
        await clock.waitForSleepers(2)
        #expect(a.isLeader)
        taskA.cancel()
        await taskA.value
        #expect(!a.isLeader)
        let released = try await client.get(.leases, namespace: "default", name: "forescale-controller")
        #expect(released.value(at: ["spec", "holderIdentity"]) == "")
        // b's next retry (2 s) acquires without waiting out the 15 s lease.
        clock.advance(by: .seconds(2))
        await clock.waitForSleepers(1)
        try await Task.sleep(for: .milliseconds(20))
        #expect(b.isLeader)
        taskB.cancel()
        await taskB.value
    }
}
