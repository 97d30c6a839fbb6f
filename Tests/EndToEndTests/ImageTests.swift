import Foundation
import KubeClient
import KubeCore
import TestSupport
import Testing
import Transport

/// The images as a cluster runs them (`make images` builds them; `make test` runs it first): read-only root
/// filesystem, UID 65532, every capability dropped, no new privileges, the kubeconfig mounted read-only. The
/// trainer image trains a policy from a trace (the repo's NAB trace, backfilled into a real Prometheus) and writes
/// its artefact; the controller image loads it, reconciles the policy to Ready and scales the Deployment in the
/// embedded API server from a live series; both answer --help and stop cleanly on SIGTERM.
@Suite(.serialized) struct ImageTests {
    static let tag = ProcessInfo.processInfo.environment["FORESCALE_IMAGE_TAG"] ?? "dev"
    /// The engine `make images` used: docker when its daemon answers, else podman (with the runtime and limits
    /// this machine needs).
    static let engine: String = {
        (try? Subprocess.run("sh", ["-c", "command -v docker >/dev/null && docker info >/dev/null 2>&1"]).status)
            == 0 ? "docker" : "podman"
    }()
    static var runFlags: [String] {
        (engine == "podman"
            ? ["--runtime", "/usr/sbin/runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"] : [])
            + [
                "--read-only", "--user", "65532:65532", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--network", "host",
            ]
    }

    /// Why the images cannot run here (nil: they can): the engine must answer.
    static func unavailable() async throws -> String? {
        guard Subprocess.isAvailable(engine) else { return "\(engine) is not installed (make images installs podman)" }
        let info = try await Subprocess.run(engine, ["info"])
        guard info.status == 0 else { return "\(engine) cannot run here: \(info.stderr)" }
        return nil
    }

    static func requireImages() async throws -> Bool {
        if let reason = try await unavailable() {
            print("ImageTests skipped: \(reason)")
            return false
        }
        for image in ["forescale-controller", "forescale-trainer"] {
            let exists = try await Subprocess.run(engine, ["image", "inspect", "\(image):\(tag)"])
            if exists.status != 0 {
                Issue.record("\(image):\(tag) is not built: run `make images` (make test does)")
                return false
            }
        }
        return true
    }

    @Test(arguments: ["controller", "trainer"])
    func answersHelpAndReportsItsSize(_ target: String) async throws {
        guard try await Self.requireImages() else { return }
        let image = "forescale-\(target):\(Self.tag)"
        let started = ContinuousClock.now
        let help = try await Subprocess.run(Self.engine, ["run", "--rm"] + Self.runFlags + [image, "--help"])
        let seconds = (ContinuousClock.now - started).components.seconds
        #expect(help.status == 0 && help.stdout.contains("Usage: forescale-\(target)"), "\(help.stdout)\(help.stderr)")
        let size = try await Subprocess.run(Self.engine, ["image", "inspect", "--format", "{{.Size}}", image])
        let bytes = Int(size.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(bytes > 10 << 20 && bytes < 400 << 20, "\(image): \(bytes) bytes")
        print("image \(image): \(bytes >> 20) MiB; `--help` in a new container: \(seconds) s")
    }

    @Test func theTrainerTrainsAndTheControllerLoadsItsModelAndScales() async throws {
        guard try await Self.requireImages() else { return }
        // Prometheus: 14 days of the NAB trace backfilled (the trainer's history), the last two hours at 300, and a
        // live exporter at 300 (the load the controller sees now); max() over them keeps one series.
        let exporter = try GaugeExporter(#"shop_cpu{group="web"}"#, value: 300)
        defer { exporter.shutdown() }
        let end = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 300).rounded(.down) * 300 - 86_400 * 3)
        // The last two hours too, at 300 (the range query a policy makes ends on its 5-minute grid, so a series
        // that began seconds ago is not yet read: issue 31).
        let now = Int(Date().timeIntervalSince1970)
        let recent = stride(from: now - 7200, to: now - 30, by: 60).map { #"shop_cpu{group="web"} 300 \#($0)"# }
        let history = try Self.backfill(end: end) + "\n" + recent.joined(separator: "\n")
        let prometheus = try await PrometheusPeer(openMetrics: history, scrape: exporter.target)
        defer { Task { await prometheus.remove() } }

        let (cluster, client) = try await EmbeddedCluster.withScalingPolicies()
        defer {
            client.shutdown()
            cluster.stop()
        }
        let name = try await cluster.createFixtureDeployment(client, replicas: 1)

        // What a pod mounts: the kubeconfig and the access rules read-only, the model store writable by 65532.
        let store = cluster.directory.file("models")
        try FileManager.default.createDirectory(
            atPath: store, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let rules = cluster.directory.file("access-rules.yaml")
        try Data(
            """
            artefactStore: file:///var/lib/forescale/models/
            namespaces: {default: {prometheus: [default]}}
            """.utf8
        ).write(to: URL(fileURLWithPath: rules))
        let mounts = [
            "-v", "\(cluster.kubeconfigPath):/etc/forescale/kubeconfig:ro",
            "-v", "\(rules):/etc/forescale/access-rules.yaml:ro",
        ]
        let common = [
            "--kubeconfig", "/etc/forescale/kubeconfig", "--access-rules", "/etc/forescale/access-rules.yaml",
            "--model-root", "/var/lib/forescale/models", "--prometheus-url", prometheus.url,
        ]
        _ = try await client.create(
            .scalingPolicies, namespace: "default",
            [
                "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "metadata": ["name": "shop"],
                "spec": [
                    "target": ["kind": "Deployment", "name": .string(name)], "mode": "Predictive",
                    "minCapacity": 1, "maxCapacity": 10, "targetUtilization": 60,
                    "model": ["artefact": "file:///var/lib/forescale/models/default/shop/model.fsm"],
                    "forecast": ["horizonSteps": 3],
                    "metrics": ["source": "prometheus", "prometheus": ["query": #"max(shop_cpu{group="web"})"#]],
                ],
            ])

        let trained = try await Subprocess.run(
            Self.engine,
            ["run", "--rm"] + Self.runFlags + mounts + ["-v", "\(store):/var/lib/forescale/models"]
                + [
                    "forescale-trainer:\(Self.tag)", "--policy", "default/shop", "--now",
                    Timestamps.format(end.addingTimeInterval(1)), "--history-days", "14", "--epochs", "4",
                    "--hidden", "16",
                ] + common)
        #expect(trained.status == 0, "\(trained.stdout)\(trained.stderr)")
        let artefact = store + "/default/shop/model.fsm"
        let training = try await client.get(.scalingPolicies, namespace: "default", name: "shop")["status"]?[
            "training"]
        #expect(training?["promoted"] == true, "\(String(describing: training))")
        try #require(FileManager.default.fileExists(atPath: artefact), "the trainer image wrote \(artefact)")
        let version = training?["challengerVersion"]?.stringValue ?? "?"

        // The live sample is in Prometheus before the controller starts (a policy reconciles once per step).
        let live = try await eventually(within: .seconds(30), every: .milliseconds(250)) {
            let answer = try await Subprocess.run(
                "curl",
                [
                    "-s", "--get", "--data-urlencode", #"query=max(shop_cpu{group="web"})"#,
                    prometheus.url + "/api/v1/query",
                ])
            return answer.stdout.contains(#""300""#)
        }
        try #require(live, "Prometheus scraped the exporter")
        let container = "forescale-image-test-\(getpid())"
        let started = ContinuousClock.now
        let run = try await Subprocess.run(
            Self.engine,
            ["run", "-d", "--name", container] + Self.runFlags + mounts
                + ["-v", "\(store):/var/lib/forescale/models:ro"]
                + [
                    "forescale-controller:\(Self.tag)", "--leader-elect", "false", "--metrics-port", "0",
                    "--no-dashboard",
                ] + common)
        #expect(run.status == 0, "\(run.stderr)")
        defer { _ = try? Subprocess.run(Self.engine, ["rm", "-f", container]) }

        func condition(_ type: String) async throws -> JSONValue? {
            try await client.get(.scalingPolicies, namespace: "default", name: "shop").value(at: [
                "status", "conditions",
            ])?.arrayValue?.first { $0["type"]?.stringValue == type }
        }
        // 300 % of one replica at 60 %: 5 replicas.
        let scaled = try await eventually(within: .seconds(90), every: .milliseconds(250)) {
            try await client.scale(.deployments, namespace: "default", name: name).specReplicas == 5
        }
        let elapsed = (ContinuousClock.now - started).components
        let readySeconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        let logs = try await Subprocess.run(Self.engine, ["logs", container])
        let policyStatus = try await client.get(.scalingPolicies, namespace: "default", name: "shop")["status"]
        #expect(
            scaled,
            "the controller image scaled the Deployment to 5: \(logs.stdout)\(logs.stderr) \(String(describing: policyStatus))"
        )
        let ready = try await condition("Ready")
        #expect(ready?["status"] == "True", "\(String(describing: ready))")
        let model = try await condition("ModelReady")
        #expect(
            model?["status"] == "True" && model?["message"]?.stringValue?.contains(version) == true,
            "the controller image loaded the trainer image's model \(version): \(String(describing: model))")
        print(
            "controller image: started, loaded the model and scaled 1 → 5 in \(String(format: "%.1f", readySeconds)) s")

        // SIGTERM (podman stop): in-flight work finishes, exit 0, well within the grace period.
        let stopping = ContinuousClock.now
        let stop = try await Subprocess.run(Self.engine, ["stop", "-t", "20", container])
        #expect(stop.status == 0, "\(stop.stderr)")
        let stopSeconds = (ContinuousClock.now - stopping).components.seconds
        let exit = try await Subprocess.run(Self.engine, ["inspect", "--format", "{{.State.ExitCode}}", container])
        #expect(exit.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "exit code \(exit.stdout)")
        #expect(stopSeconds < 20, "stopped on SIGTERM, not killed after the grace period")
        print("controller image: stopped on SIGTERM in \(stopSeconds) s, exit 0")

        // The trainer stopped mid-run (a Job's deadline, a node drain): it ends on SIGTERM itself (143, not the
        // grace period's SIGKILL, 137) and the champion it had not yet replaced is untouched.
        let champion = try Data(contentsOf: URL(fileURLWithPath: artefact))
        let trainer = "forescale-image-trainer-\(getpid())"
        let long = try await Subprocess.run(
            Self.engine,
            ["run", "-d", "--name", trainer] + Self.runFlags + mounts + ["-v", "\(store):/var/lib/forescale/models"]
                + [
                    "forescale-trainer:\(Self.tag)", "--policy", "default/shop", "--now",
                    Timestamps.format(end.addingTimeInterval(1)), "--history-days", "14", "--epochs", "1000",
                    "--hidden", "512", "--margin", "0",
                ] + common)
        #expect(long.status == 0, "\(long.stderr)")
        defer { _ = try? Subprocess.run(Self.engine, ["rm", "-f", trainer]) }
        try await Task.sleep(for: .seconds(3))
        let trainerStopping = ContinuousClock.now
        _ = try await Subprocess.run(Self.engine, ["stop", "-t", "20", trainer])
        let trainerStop = (ContinuousClock.now - trainerStopping).components.seconds
        let trainerExit = try await Subprocess.run(
            Self.engine, ["inspect", "--format", "{{.State.ExitCode}}", trainer])
        #expect(
            trainerExit.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "143" && trainerStop < 20,
            "the trainer ends on SIGTERM: exit \(trainerExit.stdout) after \(trainerStop) s")
        #expect(try Data(contentsOf: URL(fileURLWithPath: artefact)) == champion, "the champion is untouched")
        let trainerLogs = try await Subprocess.run(Self.engine, ["logs", trainer])
        print(
            "trainer image: SIGTERM after 3 s: stopped in \(trainerStop) s, exit "
                + "\(trainerExit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)); output: \(trainerLogs.stdout)\(trainerLogs.stderr)"
        )
    }

    /// ec2_cpu_utilization_825cc2 (NAB, 5-minute steps), its last 14 days as `shop_cpu{group="web"}` ending `end`.
    static func backfill(end: Date) throws -> String {
        let samples = Fixtures.openMetricsSamples(
            try Fixtures.traceValues("ec2_cpu_utilization_825cc2"), series: #"shop_cpu{group="web"}"#,
            end: Int(end.timeIntervalSince1970))
        return (["# TYPE shop_cpu gauge"] + samples).joined(separator: "\n")
    }
}
