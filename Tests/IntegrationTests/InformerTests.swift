import APIServer
import Foundation
import KubeClient
import KubeCore
import Synchronization
import TestSupport
import Testing

/// An informer feeding a work queue converges on the server's state under 1,000 changes while
/// the server fails lists and watches (500s, 429s with Retry-After), drops watches and
/// forgets history (410): every key ends up processed with its final state, none twice in the
/// cache, none lost.
@Suite struct InformerTests {
    /// The test's own read may meet a fault the informer has not used up yet.
    static func listRetrying(_ client: KubernetesClient) async throws -> ObjectList {
        for _ in 0..<20 {
            let error: KubeError
            do {
                return try await client.listAll(.configMaps, namespace: "load")
            } catch let caught {
                error = caught
            }
            guard error.isRetryable else { throw error }
            try await Task.sleep(for: .milliseconds(250))
        }
        return try await client.listAll(.configMaps, namespace: "load")
    }

    @Test func convergesUnderChangesAndFaults() async throws {
        let cluster = try EmbeddedCluster(watchHistory: 400)
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        _ = try await client.create(.namespaces, namespace: nil, ["metadata": ["name": "load"]])

        let queue = WorkQueue<String>()
        var options = Informer.Options(namespace: "load")
        options.initialBackoff = .milliseconds(20)
        options.maxBackoff = .milliseconds(500)
        let informer = Informer(client: client, resource: .configMaps, options: options) { event in queue.add(event.key)
        }
        // Level-based worker: what it saw in the cache when it last processed each key.
        let processed = Mutex<[String: String]>([:])
        let worker = Task {
            while let key = await queue.get() {
                let version =
                    informer.cache.get(key)?.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "deleted"
                processed.withLock { $0[key] = version }
                queue.forget(key)
                queue.done(key)
            }
        }
        let running = Task { await informer.run() }
        await informer.waitForSync()

        var existing: [String] = []
        var created: Set<String> = []
        var generator = SystemRandomNumberGenerator()
        let reads = "/api/v1/namespaces/load/configmaps"
        for change in 0..<1000 {
            switch change {
            case 200: cluster.server.injectFault(.init(method: "GET", pathPrefix: reads, status: 500, count: 3))
            case 400: cluster.server.dropWatches()
            case 600:
                // Cut the informer off (its re-watches fail) while changes go on, then forget
                // the history it would resume from: its next watch must get 410 and re-list.
                cluster.server.injectFault(.init(method: "GET", pathPrefix: reads, status: 500, count: 1_000_000))
                cluster.server.dropWatches()
            case 610:
                cluster.server.compactHistory()
                cluster.server.clearFaults()
            case 800:
                cluster.server.injectFault(
                    .init(method: "GET", pathPrefix: reads, status: 429, retryAfterSeconds: 1, count: 2))
                cluster.server.dropWatches()
            default: break
            }
            if change < 300 || existing.isEmpty {
                let name = "cm-\(change)"
                _ = try await client.create(
                    .configMaps, namespace: "load", ["metadata": ["name": .string(name)], "data": ["n": "0"]])
                existing.append(name)
                created.insert("load/\(name)")
            } else if change % 5 == 0 {
                let name = existing.remove(at: Int.random(in: 0..<existing.count, using: &generator))
                try await client.delete(.configMaps, namespace: "load", name: name)
            } else {
                let name = existing[Int.random(in: 0..<existing.count, using: &generator)]
                _ = try await client.patch(
                    .configMaps, namespace: "load", name: name, .merge(["data": ["n": .string(String(change))]]))
            }
        }

        let server = try await Self.listRetrying(client)
        let expected = Dictionary(
            uniqueKeysWithValues: server.items.map {
                (ObjectCache.key(of: $0), $0.value(at: ["metadata", "resourceVersion"])!.stringValue!)
            })
        let deadline = ContinuousClock.now + .seconds(30)
        func cached() -> [String: String] {
            Dictionary(
                uniqueKeysWithValues: informer.cache.list().map {
                    (ObjectCache.key(of: $0), $0.value(at: ["metadata", "resourceVersion"])!.stringValue!)
                })
        }
        while cached() != expected && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(cached() == expected)
        #expect(informer.cache.count == server.items.count)
        await queue.waitUntilDrained()
        let seen = processed.withLock { $0 }
        for (key, version) in expected {
            #expect(seen[key] == version, "\(key) processed at \(seen[key] ?? "never"), final \(version)")
        }
        let deleted = Set(seen.keys).subtracting(expected.keys)
        #expect(deleted.allSatisfy { seen[$0] == "deleted" })
        #expect(Set(seen.keys) == created, "every key ever created was processed")
        let statistics = informer.statistics
        #expect(statistics.expired >= 1, "a 410 forced a re-list: \(statistics)")
        #expect(statistics.errors >= 1 && statistics.watches >= 3 && statistics.lists >= 2, "\(statistics)")
        running.cancel()
        queue.shutDown()
        await worker.value
    }
}
