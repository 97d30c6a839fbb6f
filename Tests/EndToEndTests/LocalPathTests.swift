import Foundation
import KubeCore
import TestSupport
import Testing

/// The README's local path, as written: `forescale apiserver`, kubectl applies the CRD, the
/// calendar and the example policies, `forescale controller` with the image's /models
/// mounted from ./Models — and the examples are Ready, the simulated one with its model loaded.
@Suite struct LocalPathTests {
    /// The README's block itself, run by bash from the repository's root. What differs from a user's run, and
    /// only that: the binary is the one this suite built (`make release` would wait on the build lock `swift test`
    /// holds), the data directory is a fresh temporary one rather than /tmp/fs, the two ports are free ones, and
    /// `kubectl get sp -w` is stopped after 20 s. Each substitution must find its text, so the block cannot drift
    /// from what is run.
    @Test(.enabled(if: Subprocess.isAvailable("kubectl"))) func theREADMEBlockRunsAsWritten() async throws {
        guard let binary = Fixtures.executable("forescale") else { throw ForescaleBinary.NotBuilt() }
        let directory = try TemporaryDirectory("forescale-readme")
        defer { directory.remove() }
        let (metrics, dashboard) = (try ReservedPort(), try ReservedPort())
        metrics.release()
        dashboard.release()
        var script = try InstallTests.block(after: "## The controller on this machine")
        for (written, run) in [
            ("make release && B=.build/release/forescale", "B=\(binary)"),
            ("/tmp/fs", directory.path),
            (
                "--metrics-port 9090 --dashboard-port 8081",
                "--metrics-port \(metrics.port) --dashboard-port \(dashboard.port)"
            ),
            ("kubectl get sp -w ", "{ timeout 20 kubectl get sp -w || [ $? = 124 ]; } "),
        ] {
            #expect(script.contains(written), "the README block no longer says \(written)")
            script = script.replacingOccurrences(of: written, with: run)
        }
        let run = try await Subprocess.run(
            "bash",
            [
                "-c", "set -euo pipefail; trap 'kill $(jobs -p) 2>/dev/null' EXIT; cd \"$0\"; " + script,
                Fixtures.root.path,
            ])
        #expect(run.status == 0, "the README block failed:\n\(run.stdout)\n\(run.stderr)")
        // The watch showed both policies Predictive/Threshold and Ready; describe names the model it loaded.
        let watched = run.stdout.split(separator: "\n").filter { $0.hasPrefix("web-") }
        #expect(
            watched.contains { $0.hasPrefix("web-simulated") && $0.contains("Predictive") && $0.contains("True") },
            "\(run.stdout)")
        #expect(
            watched.contains { $0.hasPrefix("web-threshold") && $0.contains("Threshold") && $0.contains("True") },
            "\(run.stdout)")
        #expect(
            run.stdout.contains("Name:") && run.stdout.contains("web-simulated") && run.stdout.contains("ModelLoaded"),
            "kubectl describe: \(run.stdout)")
    }
}
