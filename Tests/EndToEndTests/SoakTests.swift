import Foundation
import KubeCore
import TestSupport
import Testing

/// A small soak in `make test`: every fault class with a fixed seed, and the ledger's zeros.
/// (The big one — 1,000 policies over 24 virtual hours — is a benchmark; see the README.)
@Suite struct SoakTests {
    @Test func aSmallSoakKeepsEveryPromise() async throws {
        let directory = try TemporaryDirectory("forescale-soak")
        defer { directory.remove() }
        let result = try await ForescaleBinary.run([
            "soak", "--policies", "20", "--virtual-hours", "2", "--speed", "150", "--seed", "7", "--json",
            "--data-dir", directory.file("soak"),
        ])
        let report = try JSONValue(parsing: Data(result.stdout.utf8))
        for count in [
            "duplicate_actions", "lost_actions", "stale_scale_ins", "non_leader_actions", "crashes",
            "unconverged_policies", "objects_lost",
        ] {
            #expect(report[count] == 0, "\(count): \(String(describing: report.value(at: ["details", count])))")
        }
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        let injected = report["faults_injected"]?.objectValue ?? [:]
        #expect(injected.count == 11 && injected.values.allSatisfy { $0 == 1 }, "every fault class ran: \(injected)")
        #expect((report["actions_applied"]?.intValue ?? 0) > 0, "the policies scaled")
        #expect(
            (report["auto_scaling_group_sets"]?.intValue ?? 0) > 0, "the Auto Scaling group policies scaled in moto")
        #expect((report["api_requests"]?.intValue ?? 0) > 100)
        #expect(report["lease_takeover_after_kill9_seconds"]?.arrayValue?.count == 1)
        #expect(report["lease_takeover_after_sigterm_seconds"]?.arrayValue?.count == 1)
        #expect(report["apiserver_restart_to_status_write_seconds"]?.arrayValue?.count == 1)
        #expect(report["spec_change_converged_seconds"] != .null)
    }
}
