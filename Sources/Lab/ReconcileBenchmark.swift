import APIServer
import Autoscaler
import CLI
import ChildProcess
import Cloud
import Commands
import FileIO
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation

/// `forescale bench reconcile`: the controller against `forescale apiserver` running as a
/// separate process (so RSS is the controller's own): idle RSS, then the time for the first
/// reconcile of every one of `policies` Predictive policies on simulated targets (list,
/// forecast, decide, act, status write) and RSS with them cached.
enum ReconcileBenchmark {
    /// A `forescale apiserver` child process with the ScalingPolicy CRD installed, and a
    /// client to it; `stop` ends the process and removes its directory.
    struct APIServerProcess {
        let client: KubernetesClient
        let stop: () -> Void

        static func start() async throws -> APIServerProcess {
            let directory = try AtomicFile.makeTemporaryDirectory(
                prefix: FileManager.default.temporaryDirectory.path + "/forescale-bench-reconcile-")
            let kubeconfig = directory + "/kubeconfig"
            let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
            defer { close(devNull) }
            let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
            let server = try ChildProcess.spawn(
                executable, ["apiserver", "--data-dir", directory + "/data", "--kubeconfig-out", kubeconfig],
                environment: ProcessInfo.processInfo.environment, stdin: devNull, stdout: devNull, stderr: devNull)
            let stop = {
                kill(server, SIGTERM)
                _ = ChildProcess.waitForExit(server)
                try? FileManager.default.removeItem(atPath: directory)
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while !FileManager.default.fileExists(atPath: kubeconfig) {
                guard ContinuousClock.now < deadline else {
                    stop()
                    throw UsageError("the API server did not start")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let client = KubernetesClient(
                connection: try KubeConfigLoader(environment: ["KUBECONFIG": kubeconfig]).load(),
                fieldManager: "forescale-bench")
            let crdPath = RepositoryFiles.locate("crds/scalingpolicy.yaml")
            guard let crdData = FileManager.default.contents(atPath: crdPath) else {
                stop()
                throw InputFileError(path: crdPath, problem: "cannot read the CRD (run from the repository)")
            }
            _ = try await client.create(
                .customResourceDefinitions, namespace: nil, try YAML.parse(String(decoding: crdData, as: UTF8.self)))
            return APIServerProcess(
                client: client,
                stop: {
                    client.shutdown()
                    stop()
                })
        }
    }

    static func run(policies: Int, workers: Int) async throws -> [String: Any] {
        let server = try await APIServerProcess.start()
        defer { server.stop() }
        let client = server.client
        let modelURL =
            "file://" + URL(fileURLWithPath: RepositoryFiles.locate("Models/seed-load.fsm")).standardizedFileURL.path
        let anchor = Date(timeIntervalSince1970: 1_800_000_000)
        let virtualNow = try SeedScenario.virtualStart(anchor: anchor).start

        let roots = FileRoots([URL(fileURLWithPath: RepositoryFiles.locate("Models")).path])
        let access = AccessControl(rules: try AccessRules.readingModels(from: ["file://" + (roots.roots.first ?? "/")]))
        func controller() -> Controller {
            var configuration = Controller.Configuration(namespace: "default")
            configuration.workers = workers
            return Controller(
                client: client, configuration: configuration,
                targets: TargetRegistry(client: client, anchor: anchor, fileRoots: roots, access: access),
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

    /// `policies` Reactive policies on simulated targets whose load and one covariate come
    /// from Prometheus (10 backfilled series), reconciled for `seconds` in virtual time from
    /// `start` at 300 virtual seconds per second: reconciles, Prometheus queries, and the
    /// queries per reconcile cold (first pass) and warm (samples kept).
    static func runAgainstPrometheus(policies: Int, seconds: Double, prometheus: PrometheusConfiguration, start: Date)
        async throws -> [String: Any]
    {
        let server = try await APIServerProcess.start()
        defer { server.stop() }
        let client = server.client
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for index in stride(from: writer, to: policies, by: 16) {
                        _ = try await client.create(
                            .scalingPolicies, namespace: "default",
                            [
                                "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy",
                                "metadata": ["name": .string("p-\(index)")],
                                "spec": [
                                    "target": [
                                        "kind": "Simulated", "name": .string("p-\(index)"),
                                        "simulation": ["initialCapacity": 4],
                                    ],
                                    "mode": "Reactive", "minCapacity": 1, "maxCapacity": 50,
                                    // Step passes only: at 300 virtual seconds per second fast checks would be
                                    // the whole load (`bench fast-check` measures them in real time).
                                    "behavior": ["scaleUp": ["fastCheckSeconds": 0]],
                                    "metrics": [
                                        "source": "prometheus",
                                        "prometheus": ["query": .string("bench_load{series=\"\(index % 10)\"}")],
                                        "inputs": [
                                            [
                                                "name": "requests",
                                                "query": .string("bench_requests{series=\"\(index % 10)\"}"),
                                            ]
                                        ],
                                    ],
                                ],
                            ])
                    }
                }
            }
            try await group.waitForAll()
        }
        let realStart = ContinuousClock.now
        var configuration = Controller.Configuration(namespace: "default")
        configuration.speed = 300
        var rule = AccessRules.NamespaceRule()
        rule.prometheus = [.controllerDefault]
        let targets = TargetRegistry(
            client: client, anchor: start, prometheus: prometheus,
            access: AccessControl(rules: AccessRules(namespaces: ["default": rule], artefactStore: nil)))
        let controller = Controller(
            client: client, configuration: configuration, targets: targets, clock: ContinuousClock(),
            now: { start.addingTimeInterval((ContinuousClock.now - realStart).seconds * 300) }, log: .discard)
        let running = Task { await controller.run() }
        while controller.metrics.reconcileCount < policies, ContinuousClock.now - realStart < .seconds(600) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let coldSeconds = (ContinuousClock.now - realStart).seconds
        let coldQueries = targets.metricsQueries
        let coldReconciles = controller.metrics.reconcileCount
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        let warmQueries = targets.metricsQueries - coldQueries
        let warmReconciles = controller.metrics.reconcileCount - coldReconciles
        running.cancel()
        await running.value
        return [
            "policies": policies, "first_pass_seconds": coldSeconds,
            "first_pass_queries_per_reconcile": Double(coldQueries) / Double(max(1, coldReconciles)),
            "steady_seconds": seconds, "steady_reconciles": warmReconciles,
            "steady_reconciles_per_second": Double(warmReconciles) / seconds,
            "steady_queries_per_second": Double(warmQueries) / seconds,
            "steady_queries_per_reconcile": Double(warmQueries) / Double(max(1, warmReconciles)),
            "reconcile_errors": controller.metrics.errorCounts,
            "note":
                "each reconcile asks for the load and one covariate; steady state reads two 5-minute points per query from the kept samples",
        ]
    }
}
