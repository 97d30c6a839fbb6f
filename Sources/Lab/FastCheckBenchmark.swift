import Autoscaler
import CLI
import Cloud
import Commands
import FileIO
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Transport

/// `forescale bench fast-check`: the fast path at fleet size, in real time. `policies` Reactive policies (simulated
/// targets, load from Prometheus: ten live series an exporter in this process serves, scraped every 5 s) on a
/// `forescale apiserver` process; after every policy's first step pass, `seconds` of fast checks at the default 15 s:
/// checks per second against the cadence asked, instant queries Prometheus was sent, the controller's CPU and RSS.
enum FastCheckBenchmark {
    static func run(policies: Int, seconds: Double) async throws -> [String: Any] {
        let directory = try AtomicFile.makeTemporaryDirectory(
            prefix: FileManager.default.temporaryDirectory.path + "/forescale-bench-fast-check-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let exporter = HTTPServer { _, writer in
            let body = (0..<10).map { "bench_live{series=\"\($0)\"} \(50 + 30 * $0)" }.joined(separator: "\n")
            writer.respond(
                status: 200, contentType: "text/plain; version=0.0.4", body: "# TYPE bench_live gauge\n\(body)\n")
        }
        let exporterPort = try exporter.start()
        defer { exporter.shutdown() }
        let prometheus = try await LocalPrometheus.start(
            directory: directory,
            configuration:
                "global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: bench\n    static_configs:\n"
                + "      - targets: ['127.0.0.1:\(exporterPort)']\n")
        defer { prometheus.stop() }

        let server = try await ReconcileBenchmark.APIServerProcess.start()
        defer { server.stop() }
        let client = server.client
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for index in stride(from: writer, to: policies, by: 16) {
                        _ = try await client.create(.scalingPolicies, namespace: "default", policy(index))
                    }
                }
            }
            try await group.waitForAll()
        }
        var rule = AccessRules.NamespaceRule()
        rule.prometheus = [.controllerDefault]
        let targets = TargetRegistry(
            client: client, anchor: Date(), prometheus: PrometheusConfiguration(url: prometheus.url),
            access: AccessControl(rules: AccessRules(namespaces: ["default": rule], artefactStore: nil)))
        let controller = Controller(
            client: client, configuration: .init(namespace: "default"), targets: targets, clock: ContinuousClock(),
            now: { Date() }, log: .discard)
        let started = ContinuousClock.now
        let running = Task { await controller.run() }
        defer { running.cancel() }
        // Every policy's first pass (a step pass) — once the first scrape has come, each has a fresh load.
        while controller.metrics.reconcileCount < policies, ContinuousClock.now - started < .seconds(600) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let firstPasses = (ContinuousClock.now - started).seconds
        let passes = controller.metrics.reconcileCount
        let sent = targets.instantQueries.queriesSent
        let ranges = targets.metricsQueries
        let cpu = processCPUSeconds()
        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        let checks = Double(controller.metrics.reconcileCount - passes)
        let cpuUsed = processCPUSeconds() - cpu
        let instantSent = Double(targets.instantQueries.queriesSent - sent)
        return [
            "benchmark": "fast-check", "policies": policies, "seconds": seconds,
            "first_passes_seconds": firstPasses,
            "passes_per_second": checks / seconds,
            "asked_passes_per_second": Double(policies) / 15,
            "mean_seconds_between_checks": checks > 0 ? Double(policies) * seconds / checks : NSNull(),
            "prometheus_instant_queries_per_second": instantSent / seconds,
            "prometheus_range_queries_per_second": Double(targets.metricsQueries - ranges) / seconds,
            "instant_queries_per_check": checks > 0 ? instantSent / checks : 0,
            "controller_cpu_cores": cpuUsed / seconds,
            "process_rss_mb": APIServerBenchmark.residentMegabytes(),
            "reconcile_errors": controller.metrics.errorCounts,
            "note":
                "controller, exporter and this benchmark in one process; the API server and Prometheus in their own. "
                + "Ten series shared by all policies: identical PromQL within 2 s is asked once.",
        ]
    }

    static func policy(_ index: Int) -> JSONValue {
        [
            "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy",
            "metadata": ["name": .string("p-\(index)")],
            "spec": [
                "target": ["kind": "Simulated", "name": .string("p-\(index)"), "simulation": ["initialCapacity": 4]],
                "mode": "Reactive", "minCapacity": 1, "maxCapacity": 50,
                "metrics": [
                    "source": "prometheus", "prometheus": ["query": .string("bench_live{series=\"\(index % 10)\"}")],
                ],
            ],
        ]
    }

    /// User and system CPU of this process so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
