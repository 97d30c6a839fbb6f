import APIServer
import Autoscaler
import ChildProcess
import Foundation
import KubeClient
import KubeCore

/// `forescale bench reconcile`: the controller against `forescale apiserver` running as a
/// separate process (so RSS is the controller's own): idle RSS, then the time for the first
/// reconcile of every one of `policies` Predictive policies on simulated targets (list,
/// forecast, decide, act, status write) and RSS with them cached.
enum ReconcileBenchmark {
    static func run(policies: Int, workers: Int) async throws -> [String: Any] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "forescale-bench-reconcile-\(getpid())"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kubeconfig = directory + "/kubeconfig"
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let server = try ChildProcess.spawn(
            executable, ["apiserver", "--data-dir", directory + "/data", "--kubeconfig-out", kubeconfig],
            environment: ProcessInfo.processInfo.environment, stdin: devNull, stdout: devNull, stderr: devNull)
        defer {
            kill(server, SIGTERM)
            _ = ChildProcess.waitForExit(server)
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: kubeconfig) {
            guard ContinuousClock.now < deadline else { throw UsageError("the API server did not start") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let client = KubernetesClient(
            connection: try KubeConfigLoader(environment: ["KUBECONFIG": kubeconfig]).load(),
            fieldManager: "forescale-bench")
        defer { client.shutdown() }
        let crdPath = DemoCommand.locate("crds/scalingpolicy.yaml")
        guard let crdData = FileManager.default.contents(atPath: crdPath) else {
            throw InputFileError(path: crdPath, problem: "cannot read the CRD (run from the repository)")
        }
        let crd = try YAML.parse(String(decoding: crdData, as: UTF8.self))
        _ = try await client.create(.customResourceDefinitions, namespace: nil, crd)
        let modelURL =
            "file://" + URL(fileURLWithPath: DemoCommand.locate("Models/seed-load.fsm")).standardizedFileURL.path
        let anchor = Date(timeIntervalSince1970: 1_800_000_000)
        let virtualNow = try SeedScenario.virtualStart(anchor: anchor).start

        func controller() -> Controller {
            var configuration = Controller.Configuration(namespace: "default")
            configuration.workers = workers
            let roots = FileRoots([URL(fileURLWithPath: DemoCommand.locate("Models")).path])
            return Controller(
                client: client, configuration: configuration,
                targets: TargetRegistry(client: client, anchor: anchor, fileRoots: roots),
                models: ModelRegistry(fileRoots: roots), now: { virtualNow })
        }
        // Idle: a synced controller with nothing to do.
        let idle = controller()
        let idleTask = Task { await idle.run() }
        await idle.informer.waitForSync()
        try await Task.sleep(for: .milliseconds(300))
        let idleRSS = APIServerBenchmark.residentMegabytes()
        idleTask.cancel()
        await idleTask.value

        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for index in stride(from: writer, to: policies, by: 16) {
                        _ = try await client.create(
                            .scalingPolicies, namespace: "default",
                            SeedScenario.policy(
                                name: "p-\(index)", mode: "Predictive", modelURL: modelURL, calendar: nil))
                    }
                }
            }
            try await group.waitForAll()
        }
        let busy = controller()
        let started = ContinuousClock.now
        let busyTask = Task { await busy.run() }
        while busy.metrics.reconcileCount < policies && ContinuousClock.now - started < .seconds(600) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let seconds = (ContinuousClock.now - started).seconds
        let rss = APIServerBenchmark.residentMegabytes()
        // The dashboard's steady state: every policy's history at its limit under the budget.
        let perPolicy = busy.history.samplesPerPolicy(policies: policies)
        for index in 0..<policies {
            for step in 0..<perPolicy {
                busy.history.record(
                    "default/p-\(index)",
                    .init(
                        time: virtualNow.addingTimeInterval(Double(step) * 300), load: 100, forecastTime: virtualNow,
                        forecast: 110,
                        median: 100, low: 90, high: 120, currentCapacity: 2, inServiceCapacity: 2, desiredCapacity: 2))
            }
        }
        let rssWithHistory = APIServerBenchmark.residentMegabytes()
        let errors = busy.metrics.errorCounts
        busyTask.cancel()
        await busyTask.value
        return [
            "benchmark": "reconcile", "policies": policies, "workers": workers,
            "reconciled": busy.metrics.reconcileCount,
            "seconds_for_all": seconds, "policies_per_second": Double(busy.metrics.reconcileCount) / seconds,
            "errors": errors, "controller_rss_mb_idle": idleRSS, "controller_rss_mb_with_policies": rss,
            "dashboard_samples_per_policy": perPolicy, "controller_rss_mb_with_full_dashboard_history": rssWithHistory,
            "note":
                "controller in this process; API server in a separate forescale apiserver process; first reconcile of "
                + "each policy includes its LSTM forecast and status write",
        ]
    }
}
