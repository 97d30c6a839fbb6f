import Foundation
import Testing
import TestSupport

/// `forescale demo`, the README's first command, run by the built binary for a few seconds.
@Suite struct DemoTests {
    @Test func demoRunsTheWholeSystemAndStopsCleanly() async throws {
        let directory = try TemporaryDirectory("forescale-demo")
        defer { directory.remove() }
        let result = try await ForescaleBinary.run(["demo", "--duration", "12", "--speed", "900", "--data-dir", directory.path,
                                                    "--model", Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path,
                                                    "--crd", Fixtures.root.appendingPathComponent("crds/scalingpolicy.yaml").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("forescale demo is running"))
        #expect(result.stdout.contains("get sp -w"))
        let reconciles = result.stdout.components(separatedBy: "stopped after ").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
        #expect(reconciles >= 10, "\(result.stdout)")
        #expect(FileManager.default.fileExists(atPath: directory.file("kubeconfig")))
        #expect(FileManager.default.fileExists(atPath: directory.file("apiserver/wal.jsonl")))
    }
}
