import Foundation
import KubeCore
import TestSupport
import Testing

/// Optimistic concurrency under contention: 8 writers × 500 read-modify-write updates of one
/// ConfigMap. Every attempt lands or gets 409; no increment is lost; a watcher sees every
/// committed version exactly once, in order.
@Suite struct APIServerConcurrencyTests {
    @Test func conflictingWritersLoseNothing() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let path = "/api/v1/namespaces/default/configmaps"
        let created = try await cluster.request(
            "POST", path, body: ["metadata": ["name": "counter"], "data": ["n": "0"]])
        let start = created.json.value(at: ["metadata", "resourceVersion"])!.stringValue!
        let events = try await cluster.watch(
            path + "?watch=true&resourceVersion=\(start)&fieldSelector=metadata.name%3Dcounter")

        let writers = 8
        let attempts = 500
        let outcomes = try await withThrowingTaskGroup(of: (landed: [Int], conflicts: Int, other: [Int]).self) {
            group in
            for _ in 0..<writers {
                group.addTask {
                    var landed: [Int] = []
                    var conflicts = 0
                    var other: [Int] = []
                    var current = try await cluster.request("GET", path + "/counter").json
                    for _ in 0..<attempts {
                        var next = current
                        let value = Int(current.value(at: ["data", "n"])!.stringValue!)!
                        next.setValue(.string(String(value + 1)), at: ["data", "n"])
                        let response = try await cluster.request("PUT", path + "/counter", body: next)
                        switch response.status {
                        case 200:
                            landed.append(value + 1)
                            current = response.json
                        case 409:
                            conflicts += 1
                            current = try await cluster.request("GET", path + "/counter").json
                        default:
                            other.append(response.status)
                        }
                    }
                    return (landed, conflicts, other)
                }
            }
            var all: [(landed: [Int], conflicts: Int, other: [Int])] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let landed = outcomes.flatMap(\.landed)
        let conflicts = outcomes.reduce(0) { $0 + $1.conflicts }
        #expect(outcomes.flatMap(\.other).isEmpty)
        #expect(landed.count + conflicts == writers * attempts)
        // Each landed update wrote value+1 of the version it read: no two landed the same value.
        #expect(Set(landed).count == landed.count)
        let final = try await cluster.request("GET", path + "/counter").json
        #expect(final.value(at: ["data", "n"])?.stringValue == String(landed.count))

        var seenValues: [Int] = []
        var seenVersions: [Int] = []
        for try await event in events {
            #expect(event["type"] == "MODIFIED")
            seenValues.append(Int(event.value(at: ["object", "data", "n"])!.stringValue!)!)
            seenVersions.append(Int(event.value(at: ["object", "metadata", "resourceVersion"])!.stringValue!)!)
            if seenValues.count == landed.count { break }
        }
        #expect(seenValues == Array(1...landed.count))
        #expect(seenVersions == seenVersions.sorted() && Set(seenVersions).count == seenVersions.count)
        print("concurrency: \(landed.count) updates landed, \(conflicts) conflicts")
    }
}
