import Autoscaler
import Foundation
import KubeClient
import KubeCore
import Lab
import PolicyEngine
import Simulation
import TestSupport
import Testing
import Transport

/// `forescale simulator`: one simulated world for every replica, and its ledger.
@Suite struct SimulatorTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func anActionIDIsAppliedOnceAndARestartReplaysTheLedger() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("ledger.jsonl")
        let service = try SimulatorService(ledgerPath: path)
        try service.setCapacity(target: "default/web", capacity: 4, time: Self.t0, actionID: "a1", identity: "c1")
        let again = try service.setCapacity(
            target: "default/web", capacity: 4, time: Self.t0, actionID: "a1", identity: "c2")
        #expect(again.duplicate && again.from == 4)
        try service.setCapacity(
            target: "default/web", capacity: 5, time: Self.t0.addingTimeInterval(300), actionID: "a2", identity: "c1")
        try service.addGap(.init(target: "default/web", start: Self.t0, end: Self.t0.addingTimeInterval(900)))
        #expect(service.target("default/web").changes.map(\.capacity) == [4, 5])
        service.shutdown()

        // A torn last line (a crash mid-append) was never acknowledged: dropped on replay.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"seq":4,"target":"default/web","capac"#.utf8))
        try handle.close()
        let restarted = try SimulatorService(ledgerPath: path)
        defer { restarted.shutdown() }
        let (changes, gaps) = restarted.target("default/web")
        #expect(changes.map(\.capacity) == [4, 5] && changes.map(\.actionID) == ["a1", "a2"])
        #expect(gaps.count == 1)
        #expect(restarted.entries.count == 3 && restarted.entries.filter(\.duplicate).count == 1)
        #expect(
            try restarted.setCapacity(target: "default/web", capacity: 4, time: Self.t0, actionID: "a1", identity: "c3")
                .duplicate, "the applied ids survive the restart")
    }

    /// Action ids are unique per target: two policies' actions with one id are both applied.
    /// (The first 1,000-policy soak found two policies deciding in the same second, at the
    /// same generation and capacity, with ids that then collided: one action was dropped as
    /// a retry of the other.)
    @Test func anActionIDIsPerTarget() throws {
        let service = try SimulatorService(ledgerPath: nil)
        let first = try service.setCapacity(
            target: "default/a", capacity: 4, time: Self.t0, actionID: "g2-1-4", identity: "c1")
        let second = try service.setCapacity(
            target: "default/b", capacity: 4, time: Self.t0, actionID: "g2-1-4", identity: "c1")
        #expect(!first.duplicate && !second.duplicate)
        #expect(service.target("default/b").changes.map(\.capacity) == [4])
    }

    /// Two controllers one after the other (a failover) on the same simulated world: the
    /// second reads the capacity the first set, instead of starting from the initial one.
    @Test func aFailoverChangesNothingInTheWorld() async throws {
        let cluster = try EmbeddedCluster()
        let client = try cluster.kubeClient(fieldManager: "forescale-controller")
        defer {
            client.shutdown()
            cluster.stop()
        }
        try await cluster.installScalingPolicyCRD(client)
        let anchor = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try await client.create(
            .configMaps, namespace: "default", try SeedScenario.calendarConfigMap(anchor: anchor))
        let service = try SimulatorService(ledgerPath: nil)
        let port = try service.start()
        defer { service.shutdown() }
        let url = "http://127.0.0.1:\(port)"
        let model = "file://" + Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path
        _ = try await client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: model, calendar: "shop-calendar"))
        let clock = Locked(try SeedScenario.virtualStart(anchor: anchor).start)
        let roots = FileRoots([Fixtures.root.path])
        func controller(_ identity: String) -> Controller {
            Controller(
                client: client, configuration: .init(namespace: "default"),
                targets: TargetRegistry(
                    client: client, fileRoots: roots,
                    plugin: SharedSimulationPlugin(anchor: anchor, url: url, identity: identity),
                    access: .readingModels(under: roots)),
                models: ModelRegistry(fileRoots: roots), now: { clock.value })
        }
        func step(_ controller: Controller) async throws {
            _ = try await controller.reconcile(
                policy: try await client.get(.scalingPolicies, namespace: "default", name: "web"))
            clock.withLock { $0 = $0.addingTimeInterval(300) }
        }
        let first = controller("first")
        for _ in 0..<60 { try await step(first) }
        let before = service.entries
        #expect(before.count >= 2, "the first controller scaled for the sale: \(before.map(\.capacity))")
        let capacity = try #require(before.last?.capacity)

        let second = controller("second")
        for _ in 0..<3 { try await step(second) }
        let after = service.entries.dropFirst(before.count)
        #expect(after.allSatisfy { $0.from == capacity || $0.from == after.first?.capacity }, "\(after)")
        #expect(after.allSatisfy { !$0.duplicate })
        let status = try await client.get(.scalingPolicies, namespace: "default", name: "web")["status"]
        #expect(
            status?["currentCapacity"]?.intValue == service.target("default/web").changes.last?.capacity,
            "the second controller sees the world the first left")
    }
}
