import Foundation
import KubeCore
import TestSupport
import Testing
import Transport

/// Durability of `forescale apiserver`: acknowledged writes survive kill -9, resourceVersions
/// stay monotonic across restarts, a torn final log line is dropped, a corrupt snapshot is
/// reported by name with exit 64.
@Suite struct APIServerPersistenceTests {
    static let token = "persistence-test-token"

    static func start(_ dataDirectory: String) async throws -> (PeerProcess, HTTPClient, String) {
        guard let binary = Fixtures.executable("forescale") else { throw ForescaleBinary.NotBuilt() }
        let process = try await PeerProcess.start(binary, ["apiserver", "--data-dir", dataDirectory, "--token", token])
        { line in
            line.range(of: "(port ").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) }
        }
        var configuration = HTTPClient.Configuration()
        configuration.tls.certificateAuthority = .file(dataDirectory + "/tls.crt")
        return (process, HTTPClient(configuration: configuration), "https://127.0.0.1:\(process.port)")
    }

    static func send(_ client: HTTPClient, _ method: String, _ url: String, _ body: JSONValue? = nil) async throws -> (
        Int, JSONValue
    ) {
        let response = try await client.execute(
            .init(
                method: method, url: url,
                headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"],
                body: body?.serialized()))
        return (response.status, (try? JSONValue(parsing: response.body)) ?? .null)
    }

    @Test func acknowledgedWritesSurviveKill9() async throws {
        let directory = try TemporaryDirectory("forescale-persist")
        defer { directory.remove() }
        let data = directory.file("data")
        let (first, client, url) = try await Self.start(data)
        var lastVersion = 0
        for index in 0..<200 {
            let (status, object) = try await Self.send(
                client, "POST", url + "/api/v1/namespaces/default/configmaps",
                ["metadata": ["name": .string("cm-\(index)")], "data": ["i": .string(String(index))]])
            #expect(status == 201)
            lastVersion = Int(object.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
        }
        let (deleted, _) = try await Self.send(client, "DELETE", url + "/api/v1/namespaces/default/configmaps/cm-0")
        #expect(deleted == 200)
        client.shutdown()
        await offload { first.kill9() }

        let (second, client2, url2) = try await Self.start(data)
        defer {
            second.stop()
            client2.shutdown()
        }
        let (_, list) = try await Self.send(client2, "GET", url2 + "/api/v1/namespaces/default/configmaps")
        let names = Set(
            list["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } ?? [])
        #expect(names.count == 199 && !names.contains("cm-0") && names.contains("cm-199"))
        let listVersion = Int(list.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
        #expect(listVersion > lastVersion, "the delete after the last create is durable too")
        let (_, created) = try await Self.send(
            client2, "POST", url2 + "/api/v1/namespaces/default/configmaps", ["metadata": ["name": "after-restart"]])
        #expect(Int(created.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "")! > listVersion)
    }

    @Test func tornFinalLineIsDroppedAndCorruptSnapshotIsReported() async throws {
        let directory = try TemporaryDirectory("forescale-persist")
        defer { directory.remove() }
        let data = directory.file("data")
        let (first, client, url) = try await Self.start(data)
        _ = try await Self.send(
            client, "POST", url + "/api/v1/namespaces/default/configmaps", ["metadata": ["name": "kept"]])
        client.shutdown()
        await offload { first.kill9() }
        let wal = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/wal.jsonl"))
        wal.seekToEndOfFile()
        wal.write(Data(#"{"k":"core/configmaps","t":"put","o":{"metadata":{"name":"tor"#.utf8))
        try wal.close()

        let (second, client2, url2) = try await Self.start(data)
        let (status, _) = try await Self.send(client2, "GET", url2 + "/api/v1/namespaces/default/configmaps/kept")
        #expect(status == 200)
        client2.shutdown()
        await offload { second.kill9() }

        try Data("not json\n".utf8).write(to: URL(fileURLWithPath: data + "/snapshot.jsonl"))
        let result = try await ForescaleBinary.run(["apiserver", "--data-dir", data, "--token", Self.token])
        #expect(result.status == 64)
        #expect(result.stderr.contains("snapshot.jsonl:1"))
    }

    @Test func refusesNonLoopbackAddressWithoutAToken() async throws {
        let directory = try TemporaryDirectory("forescale-persist")
        defer { directory.remove() }
        let result = try await ForescaleBinary.run([
            "apiserver", "--data-dir", directory.file("data"), "--address", "0.0.0.0",
        ])
        #expect(result.status == 64)
        #expect(result.stderr.contains("refusing to listen on non-loopback address 0.0.0.0"))
    }
}
