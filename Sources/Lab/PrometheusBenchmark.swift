import Autoscaler
import CLI
import ChildProcess
import Cloud
import Commands
import FileIO
import Forecasting
import Foundation
import KubeClient
import KubeCore
import Simulation
import Transport

/// `forescale bench prometheus`: the cost of Prometheus as a metrics source, against a local
/// `prometheus` (Debian's package) whose TSDB is backfilled with 14 days of 10 series of the
/// seed trace: `query_range` latency for 14 days at 5-minute steps, then `policies`
/// Prometheus-backed policies (load and one covariate each) reconciled by the controller
/// against a `forescale apiserver` process, in virtual time at 5 minutes per second — how
/// many queries a reconcile makes cold and once the samples are kept, and how many queries
/// per second one Prometheus answers.
enum PrometheusBenchmark {
    static func run(policies: Int, seconds: Double) async throws -> [String: Any] {
        guard ChildProcess.find("prometheus") != nil, ChildProcess.find("promtool") != nil else {
            throw UsageError("bench prometheus needs the prometheus and promtool binaries (make deps)")
        }
        let directory = try AtomicFile.makeTemporaryDirectory(
            prefix: FileManager.default.temporaryDirectory.path + "/forescale-bench-prometheus-")
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // 14 days × 10 series of load and requests, ending a day ago.
        let end = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 300).rounded(.down) * 300 - 86_400)
        let table = SyntheticGenerator.generate(days: 14, seed: 7)
        let cpu = table.columns["cpu_utilization"]!
        let requests = table.columns["request_count"]!
        var lines: [String] = ["# TYPE bench_load gauge"]
        let first = Int(end.timeIntervalSince1970) - (cpu.count - 1) * 300
        for series in 0..<10 {
            for (index, value) in cpu.enumerated() {
                lines.append("bench_load{series=\"\(series)\"} \(value * Float(2 + series)) \(first + index * 300)")
            }
        }
        lines.append("# TYPE bench_requests gauge")
        for series in 0..<10 {
            for (index, value) in requests.enumerated() {
                lines.append("bench_requests{series=\"\(series)\"} \(value) \(first + index * 300)")
            }
        }
        lines.append("# EOF")
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: directory + "/backfill.om", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory + "/tsdb", withIntermediateDirectories: true)
        let backfill = try ChildProcess.run(
            "promtool", ["tsdb", "create-blocks-from", "openmetrics", directory + "/backfill.om", directory + "/tsdb"],
            environment: ProcessInfo.processInfo.environment)
        guard backfill.status == 0 else {
            throw UsageError("promtool: \(String(decoding: backfill.stderr, as: UTF8.self))")
        }
        let server = try await LocalPrometheus.start(
            directory: directory, configuration: "global:\n  scrape_interval: 15s\n")
        defer { server.stop() }
        let url = server.url
        let http = HTTPClient()
        defer { http.shutdown() }

        // One query of 14 days at 5-minute steps (4,032 points), 40 times.
        let api = try PrometheusAPI(client: http, configuration: .init(url: url))
        var latencies: [Double] = []
        var points = 0
        for index in 0..<40 {
            let begin = ContinuousClock.now
            let series = try await api.queryRange(
                "bench_load{series=\"\(index % 10)\"}", start: end.addingTimeInterval(-14 * 86_400), end: end, step: 300
            )
            latencies.append((ContinuousClock.now - begin).seconds * 1000)
            points = series.first?.points.count ?? 0
        }
        latencies.sort()

        let reconcile = try await ReconcileBenchmark.runAgainstPrometheus(
            policies: policies, seconds: seconds, prometheus: PrometheusConfiguration(url: url),
            start: end.addingTimeInterval(-86_400))
        return [
            "benchmark": "prometheus", "query_range_14_days_points": points,
            "query_range_14_days_ms_p50": latencies[latencies.count / 2],
            "query_range_14_days_ms_p99": latencies[latencies.count * 99 / 100],
        ].merging(reconcile) { $1 }
    }
}

/// A `prometheus` process of the benchmarks: its TSDB under `directory`/tsdb, answering on loopback.
struct LocalPrometheus {
    let pid: pid_t
    let url: String

    static func start(directory: String, configuration: String) async throws -> LocalPrometheus {
        guard ChildProcess.find("prometheus") != nil else {
            throw UsageError("this benchmark needs the prometheus binary (make deps)")
        }
        try configuration.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory + "/tsdb", withIntermediateDirectories: true)
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        let port = 19_090 + Int(getpid() % 500)
        let pid = try ChildProcess.spawn(
            "prometheus",
            [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/tsdb",
                "--storage.tsdb.retention.time=100y",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=error",
            ],
            environment: ProcessInfo.processInfo.environment, stdin: devNull, stdout: devNull, stderr: devNull)
        let server = LocalPrometheus(pid: pid, url: "http://127.0.0.1:\(port)")
        let http = HTTPClient()
        defer { http.shutdown() }
        let ready = ContinuousClock.now + .seconds(30)
        while (try? await http.execute(HTTPRequest(url: server.url + "/-/ready")))?.status != 200 {
            guard ContinuousClock.now < ready else {
                server.stop()
                throw UsageError("prometheus did not start")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return server
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = ChildProcess.waitForExit(pid)
    }
}
