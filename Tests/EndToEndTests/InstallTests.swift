import Foundation
import KubeCore
import TestSupport
import Testing

/// README's "Install on a cluster", run as written: its shell block, in a copy of the repository, against the
/// embedded API server, with the images `make test` built. Only `podman push` is recorded instead of sent (no
/// registry is reachable here); every other line runs as a user would run it.
@Suite(.serialized) struct InstallTests {
    /// The first ```sh block after `heading` in README.md.
    static func block(after heading: String) throws -> String {
        let readme = try String(contentsOf: Fixtures.root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let section = readme.range(of: "\n" + heading + "\n"),
            let open = readme.range(of: "```sh\n", range: section.upperBound..<readme.endIndex),
            let close = readme.range(of: "\n```\n", range: open.upperBound..<readme.endIndex)
        else { throw InstallBlockMissing(heading: heading) }
        return String(readme[open.upperBound..<close.lowerBound])
    }

    struct InstallBlockMissing: Error, CustomStringConvertible {
        var heading: String
        var description: String { "README.md has no ```sh block after \(heading)" }
    }

    @Test(.enabled(if: Subprocess.isAvailable("kubectl"))) func theREADMEsInstallRunsAsWritten() async throws {
        let script = try Self.block(after: "## Install on a cluster")
        #expect(script.contains("kubectl apply -k forescale-install/") && script.contains("make images"))
        if let reason = try await ImageTests.unavailable() {
            print("InstallTests skipped: \(reason)")
            return
        }
        let directory = try TemporaryDirectory("forescale-install")
        defer { directory.remove() }
        // A copy of the repository as a user has it (not its build outputs), so the block's files land there.
        let checkout = directory.file("forescale")
        try FileManager.default.createDirectory(atPath: checkout, withIntermediateDirectories: true)
        let copied = try await Subprocess.run(
            "sh",
            [
                "-c",
                "tar -C \"$0\" --exclude=./.build --exclude=./.git -cf - . | tar -C \"$1\" -xf -",
                Fixtures.root.path, checkout,
            ])
        try #require(copied.status == 0, "\(copied.stderr)")
        let (apiserver, kubeconfig) = try await ForescaleBinary.startAPIServer(in: directory)
        defer { apiserver.stop() }

        let pushed = directory.file("pushed")
        let shim = """
            podman() { if [ "$1" = push ]; then echo "$2" >> \(pushed); else command \(ImageTests.engine) "$@"; fi; }
            set -euo pipefail

            """
        let swift = ProcessInfo.processInfo.environment["SWIFT"] ?? "swift"
        let run = try await Subprocess.run(
            "bash", ["-c", "cd \"$0\" && eval \"$1\"", checkout, shim + script],
            environment: ["KUBECONFIG": kubeconfig, "SWIFT": swift])
        #expect(run.status == 0, "the install block failed:\n\(run.stdout)\n\(run.stderr)")

        let registry = "registry.example.com/platform"
        let pushes = (try? String(contentsOfFile: pushed, encoding: .utf8))?.split(separator: "\n").map(String.init)
        #expect(pushes == ["\(registry)/forescale-controller:0.1.0", "\(registry)/forescale-trainer:0.1.0"])
        for image in ["forescale-controller", "forescale-trainer"] {
            let tagged = try await Subprocess.run(
                ImageTests.engine, ["image", "inspect", "\(registry)/\(image):0.1.0"])
            #expect(tagged.status == 0, "\(image) tagged for the registry")
            _ = try await Subprocess.run(ImageTests.engine, ["rmi", "\(registry)/\(image):0.1.0"])
        }
        func object(_ arguments: [String]) async throws -> JSONValue {
            let got = try await Subprocess.run(
                "kubectl", ["--kubeconfig", kubeconfig, "-n", "forescale-system", "get"] + arguments + ["-o", "json"])
            return try JSONValue(parsing: Data(got.stdout.utf8))
        }
        let deployment = try await object(["deployment", "forescale-controller"])
        #expect(
            deployment.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["image"]
                == .string("\(registry)/forescale-controller:0.1.0"))
        let cronJob = try await object(["cronjob", "forescale-retrain"])
        #expect(
            cronJob.value(at: ["spec", "jobTemplate", "spec", "template", "spec", "containers"])?.arrayValue?.first?[
                "image"] == .string("\(registry)/forescale-trainer:0.1.0"))
        for account in ["forescale-controller", "forescale-trainer"] {
            let annotations = try await object(["serviceaccount", account]).value(at: ["metadata", "annotations"])
            #expect(annotations?["eks.amazonaws.com/role-arn"]?.stringValue?.hasPrefix("arn:aws:iam::") == true)
        }
        #expect(run.stdout.contains("deployment.apps/forescale-controller"), "the block's last command: \(run.stdout)")

        // "First start": the trainer's first run, started now from the CronJob, with the command the README shows —
        // with `--dry-run=client -o json` added: kubectl reads the CronJob and builds the Job, but would send it as
        // protobuf, which the embedded server decodes for ConfigMap, Secret and Namespace only.
        let readme = try String(contentsOf: Fixtures.root.appendingPathComponent("README.md"), encoding: .utf8)
        let firstRun = "kubectl -n forescale-system create job --from=cronjob/forescale-retrain first-run"
        #expect(readme.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("`\(firstRun)`"))
        let started = try await Subprocess.run(
            "bash", ["-c", firstRun + " --dry-run=client -o json"], environment: ["KUBECONFIG": kubeconfig])
        #expect(started.status == 0, "\(started.stdout)\(started.stderr)")
        let job = try JSONValue(parsing: Data(started.stdout.utf8))
        #expect(job["kind"] == "Job" && job.value(at: ["metadata", "name"]) == "first-run", "\(job)")
        #expect(
            job.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["image"]
                == .string("\(registry)/forescale-trainer:0.1.0"), "\(job)")
    }
}
