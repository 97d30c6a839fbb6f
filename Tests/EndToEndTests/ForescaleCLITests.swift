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
}
