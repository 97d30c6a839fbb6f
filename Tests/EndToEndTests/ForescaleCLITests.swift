import Forecasting
import Foundation
import TestSupport
import Testing

/// The built `forescale` executable: exit codes and output.
@Suite("forescale CLI")
struct ForescaleCLITests {
    @Test func helpListsCommandsAndExitsZero() async throws {
        let result = try await ForescaleBinary.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("bench"))
    }

    @Test(
        "bad usage exits 64 with a message",
        arguments: [
            [],
            ["no-such-command"],
            ["bench"],
            ["bench", "http", "--seconds", "abc"],
            ["bench", "http", "--unknown-flag"],
            ["bench", "http", "--seconds"],
        ])
    func badUsage(arguments: [String]) async throws {
        let result = try await ForescaleBinary.run(arguments)
        #expect(result.status == 64)
        #expect(!(result.stderr + result.stdout).isEmpty)
    }

    @Test func subcommandHelp() async throws {
        let result = try await ForescaleBinary.run(["bench", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Usage: forescale bench"))
    }

    @Test func benchHTTPPrintsJSONWithMeasuredRequests() async throws {
        let result = try await ForescaleBinary.run([
            "bench", "http", "--seconds", "0.5", "--concurrency", "2", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["benchmark"] as? String == "http")
        #expect((json["requests"] as? Int ?? 0) > 0)
        #expect((json["requests_per_second"] as? Double ?? 0) > 0)
    }

    /// Hostile files given to the command line: a message naming the file and the problem, exit 64.
    @Test func hostileFilesExit64NamingTheFileAndTheField() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var artefact = try ModelArtefact.load(
            path: Fixtures.root.appendingPathComponent("Models/ec2-825cc2-load.fsm").path)
        artefact.header.network.hiddenSize = 1 << 40
        try artefact.encoded().write(to: URL(fileURLWithPath: directory.file("hostile.fsm")))
        let data = Fixtures.root.appendingPathComponent("examples/data/ec2_cpu_utilization_825cc2.csv").path
        for command in ["predict", "evaluate"] {
            let result = try await ForescaleBinary.run([
                command, "--model", directory.file("hostile.fsm"), "--data", data,
            ])
            #expect(result.status == 64, "\(command): \(result.stderr)")
            #expect(
                result.stderr.contains("hostile.fsm") && result.stderr.contains("network.hiddenSize"),
                "\(command): \(result.stderr)")
        }
        try "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:00:00,2\n".write(
            toFile: directory.file("repeat.csv"), atomically: true, encoding: .utf8)
        try "timestamp,value\n2026-01-01 00:00:1e300,1\n".write(
            toFile: directory.file("seconds.csv"), atomically: true, encoding: .utf8)
        try "timestamp,value\n99999-01-01 00:00:00,1\n".write(
            toFile: directory.file("year.csv"), atomically: true, encoding: .utf8)
        for (file, problem) in [
            ("repeat.csv", "does not come after"), ("seconds.csv", "bad timestamp"), ("year.csv", "bad timestamp"),
        ] {
            let result = try await ForescaleBinary.run(["train", "--data", directory.file(file), "--epochs", "1"])
            #expect(result.status == 64, "\(file): \(result.stderr)")
            #expect(result.stderr.contains(file) && result.stderr.contains(problem), "\(file): \(result.stderr)")
        }
    }
}
