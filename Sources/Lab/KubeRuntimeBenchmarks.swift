import APIServer
import CLI
import Commands
import Foundation
import KubeClient
import KubeCore
import Simulation
import Synchronization

/// `forescale bench informer` and `forescale bench queue`.
enum KubeRuntimeBenchmarks {
    /// Informer memory and sync time for `objects` ConfigMaps served by the embedded API
    /// server (in memory, HTTPS) in this process; RSS is measured around the informer only.
    static func informer(objects: Int) async throws -> [String: Any] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "forescale-bench-informer-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try APIServer(configuration: .init(token: APIServer.generateToken()))
        _ = try server.start()
        defer { server.shutdown(gracePeriod: .milliseconds(100)) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(server.kubeconfig().utf8).write(to: URL(fileURLWithPath: directory + "/kubeconfig"))
        let client = KubernetesClient(
            connection: try KubeConfigLoader(environment: ["KUBECONFIG": directory + "/kubeconfig"]).load())
        defer { client.shutdown() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for index in stride(from: writer, to: objects, by: 16) {
                        _ = try await client.create(
                            .configMaps, namespace: "default",
                            [
                                "metadata": [
                                    "name": .string("cm-\(index)"),
                                    "labels": ["app": "bench", "shard": .string(String(index % 8))],
                                ],
                                "data": [
                                    "calendar": .string(String(repeating: "2026-11-27 black-friday; ", count: 20))
                                ],
                            ])
                    }
                }
            }
            try await group.waitForAll()
        }
        let before = APIServerBenchmark.residentMegabytes()
        let events = Counter()
        let informer = Informer(client: client, resource: .configMaps, options: .init(namespace: "default")) { _ in
            events.increment()
        }
        let start = ContinuousClock.now
        let running = Task { await informer.run() }
        await informer.waitForSync()
        let syncSeconds = (ContinuousClock.now - start).seconds
        let after = APIServerBenchmark.residentMegabytes()
        // Watch throughput: 1,000 updates observed through the running informer.
        let updateStart = ContinuousClock.now
        let baseline = events.value
        for index in 0..<1000 {
            _ = try await client.patch(
                .configMaps, namespace: "default", name: "cm-\(index % max(1, objects))",
                .merge(["data": ["n": .string(String(index))]]))
        }
        while events.value < baseline + 1000 && ContinuousClock.now - updateStart < .seconds(30) {
            try await Task.sleep(for: .milliseconds(5))
        }
        let updateSeconds = (ContinuousClock.now - updateStart).seconds
        running.cancel()
        return [
            "benchmark": "informer", "objects": objects, "cached": informer.cache.count,
            "initial_sync_seconds": syncSeconds, "rss_mb_before_informer": before, "rss_mb_after_sync": after,
            "informer_mb": after - before, "update_round_trips_per_second": 1000 / updateSeconds,
        ]
    }

    /// Work-queue throughput: `keys` distinct keys added by 4 producers (each key twice, so
    /// half the adds collapse) and processed by 4 workers.
    static func queue(keys: Int) async -> [String: Any] {
        let queue = WorkQueue<String>()
        let processed = Counter()
        let start = ContinuousClock.now
        let workers = (0..<4).map { _ in
            Task {
                while let key = await queue.get() {
                    processed.increment()
                    queue.forget(key)
                    queue.done(key)
                }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<4 {
                group.addTask {
                    for index in stride(from: producer, to: keys, by: 4) {
                        queue.add("default/key-\(index)")
                        queue.add("default/key-\(index)")
                    }
                }
            }
        }
        queue.shutDown()
        for worker in workers { await worker.value }
        let seconds = (ContinuousClock.now - start).seconds
        return [
            "benchmark": "queue", "keys": keys, "adds": keys * 2, "processed": processed.value,
            "seconds": seconds, "adds_per_second": Double(keys * 2) / seconds,
            "processed_per_second": Double(processed.value) / seconds,
        ]
    }
}

/// A counter shared between a benchmark and its tasks.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
