import APIServer
import CLI
import Commands
import Foundation
import KubeCore
import Simulation
import Synchronization
import Transport

/// `forescale bench apiserver`: the embedded API server over HTTPS with persistence on.
/// 1. Writes/s with `watchers` open watches, and watch delivery latency (from the moment the
///    writer sends to the moment each watcher has the event).
/// 2. RSS with `objects` stored objects.
/// 3. Restart time (recovery of those objects from the data directory).
enum APIServerBenchmark {
    static func run(
        writes: Int, writers: Int, watchers: Int, objects: Int, plainHTTP: Bool = false, inMemory: Bool = false
    ) async throws -> [String: Any] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "forescale-bench-apiserver-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let token = APIServer.generateToken()
        let configuration = APIServer.Configuration(
            dataDirectory: inMemory ? nil : directory, token: token, plainHTTP: plainHTTP)
        let server = try APIServer(configuration: configuration)
        _ = try server.start()
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.tls.certificateAuthority = server.certificatePEM.map { .pem(Data($0.utf8)) }
        let client = HTTPClient(configuration: clientConfiguration)
        defer { client.shutdown() }
        let baseURL = server.baseURL
        let headers: HTTPHeaders = [
            "Authorization": "Bearer \(token)", "Content-Type": "application/json", "Accept": "application/json",
        ]
        let collection = "/api/v1/namespaces/default/configmaps"
        let epoch = ContinuousClock.now
        let elapsedMicros: @Sendable () -> Int64 = {
            let duration = ContinuousClock.now - epoch
            return duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        }
        let configMap: @Sendable (String, Int64) -> JSONValue = { name, sent in
            [
                "metadata": [
                    "name": .string(name),
                    "labels": [
                        "app": "bench", "tier": "web", "team": "forescale", "env": "test",
                        "shard": .string(String(name.hash & 7)),
                    ],
                ],
                "data": [
                    "sentMicros": .string(String(sent)),
                    "calendar": .string(String(repeating: "2026-11-27 black-friday; ", count: 14)),
                ],
            ]
        }

        // Phase 1: writes with watchers.
        let startVersion = server.resourceVersion
        let latencies = Mutex<[Int64]>([])
        let received = Mutex(0)
        let expectedEvents = writes * watchers
        var watchTasks: [Task<Void, Error>] = []
        for _ in 0..<watchers {
            let response = try await client.stream(
                HTTPRequest(
                    method: "GET", url: baseURL + collection + "?watch=true&resourceVersion=\(startVersion)",
                    headers: headers, timeout: nil))
            watchTasks.append(
                Task { @Sendable in
                    // The client side only finds each event's send time (no full JSON parse), so the
                    // figures measure the server rather than this loop.
                    let marker = Array("\"sentMicros\":\"".utf8)
                    var pending: [UInt8] = []
                    for try await chunk in response.body {
                        let now = elapsedMicros()
                        pending.append(contentsOf: chunk)
                        var samples: [Int64] = []
                        var lineStart = 0
                        while let newline = pending[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                            if let found = Self.find(marker, in: pending, from: lineStart, to: newline) {
                                var value: Int64 = 0
                                var index = found
                                while index < newline, pending[index] >= 48, pending[index] <= 57 {
                                    value = value * 10 + Int64(pending[index] - 48)
                                    index += 1
                                }
                                samples.append(now - value)
                            }
                            lineStart = newline + 1
                        }
                        pending.removeFirst(lineStart)
                        latencies.withLock { $0.append(contentsOf: samples) }
                        let total = received.withLock { count -> Int in
                            count += samples.count
                            return count
                        }
                        if total >= expectedEvents { return }
                    }
                })
        }
        let writeStart = ContinuousClock.now
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var failed = 0
                    for index in stride(from: writer, to: writes, by: writers) {
                        let body = configMap("w-\(index)", elapsedMicros()).serialized()
                        let response = try await client.execute(
                            HTTPRequest(method: "POST", url: baseURL + collection, headers: headers, body: body))
                        if response.status != 201 { failed += 1 }
                    }
                    return failed
                }
            }
            return try await group.reduce(0, +)
        }
        let writeSeconds = (ContinuousClock.now - writeStart).seconds
        let watchDeadline = ContinuousClock.now + .seconds(10)
        while received.withLock({ $0 }) < expectedEvents && ContinuousClock.now < watchDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        for item in watchTasks { item.cancel() }
        let sorted = latencies.withLock { $0 }.sorted()
        // JSON has no NaN: without watchers the latency fields are null.
        func percentile(_ p: Double) -> Any {
            sorted.isEmpty ? NSNull() : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
        }

        // Phase 2: memory with `objects` stored (the phase-1 objects count towards it).
        let rssBefore = residentMegabytes()
        let remaining = max(0, objects - server.objectCount)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in stride(from: writer, to: remaining, by: writers) {
                        let body = configMap("m-\(index)", 0).serialized()
                        _ = try await client.execute(
                            HTTPRequest(method: "POST", url: baseURL + collection, headers: headers, body: body))
                    }
                }
            }
            try await group.waitForAll()
        }
        let stored = server.objectCount
        let rssWithObjects = residentMegabytes()

        // Phase 3: restart from the data directory.
        server.shutdown(gracePeriod: .milliseconds(100))
        let restartStart = ContinuousClock.now
        let restarted = try APIServer(configuration: configuration)
        _ = try restarted.start()
        let restartSeconds = (ContinuousClock.now - restartStart).seconds
        let recovered = restarted.objectCount
        restarted.shutdown(gracePeriod: .milliseconds(100))

        return [
            "benchmark": "apiserver",
            "transport": plainHTTP ? "http" : "https",
            "persistence": inMemory ? "none" : "data directory, fdatasync group commit",
            "writes": writes, "writers": writers, "watchers": watchers, "write_failures": failures,
            "writes_per_second": Double(writes) / writeSeconds,
            "watch_events_received": received.withLock { $0 }, "watch_events_expected": expectedEvents,
            "watch_delivery_ms_p50": percentile(0.5), "watch_delivery_ms_p99": percentile(0.99),
            "stored_objects": stored, "rss_mb_before_fill": rssBefore, "rss_mb_with_objects": rssWithObjects,
            "restart_seconds": restartSeconds, "restart_recovered_objects": recovered,
        ]
    }

    /// The index just past the first occurrence of `marker` in bytes[from..<to].
    static func find(_ marker: [UInt8], in bytes: [UInt8], from: Int, to: Int) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            var index = from
            let last = to - marker.count
            while index <= last {
                if buffer[index] == marker[0] {
                    var matched = 1
                    while matched < marker.count && buffer[index + matched] == marker[matched] { matched += 1 }
                    if matched == marker.count { return index + matched }
                }
                index += 1
            }
            return nil
        }
    }

    /// VmRSS of this process (server and bench client together).
    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return .nan }
        return kilobytes / 1024
    }
}
