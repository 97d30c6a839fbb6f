import CLI
import Commands
import Forecasting
import Foundation
import KubeCore
import Simulation
import Synchronization
import Transport

/// `forescale bench …`: measured figures as JSON (benchmarks, never timed tests).
enum BenchCommand: Subcommand {
    static let name = "bench"
    static let summary = "measure speed and memory (http, …), printing JSON"
    static let usage = """
        Usage: forescale bench <benchmark> [options]

        Benchmarks:
          http    requests/s and latency of our libcurl client against our HTTP server over
                  loopback keep-alive
                  --seconds S      how long to run (default 3)
                  --concurrency N  requests in flight at once (default 8)

          train   seconds per epoch of the prototype recipe (seq 24, 3×128, batch 64) on the
                  seed data (examples/data or --data F.csv), GFLOP/s (the gate products,
                  forward and backward) and their share of the machine's FMA ceiling (a
                  pure fused-multiply-add loop on the same threads)
                  --epochs N  (default 3)   --threads N  (default: up to 2)
          trainer a nightly retraining of --policies N (default 10) policies' --days D (default
                  14) of history, one after another, with the controller's recipe — with the
                  classical candidates and the selection, and the LSTM alone: seconds per
                  policy and what each serves
          infer   single-sequence forecast latency p50/p99 over --calls N (default 2000)
                  after warm-up, and artefact load time; --model M.fsm or a fresh model

          apiserver
                  the embedded API server over HTTPS with persistence: writes/s with open
                  watches, watch delivery p50/p99, RSS with many stored objects, restart time
                  --writes N (default 10000)  --writers N (default 16)
                  --watchers N (default 10)   --objects N (default 10000)
                  --plain-http (no TLS)       --in-memory (no persistence)

          informer
                  informer initial sync time and memory for --objects N ConfigMaps (default
                  10000) from the embedded API server, and update round trips through the watch
          queue   work-queue adds/s and keys processed/s with 4 producers and 4 workers
                  --keys N (default 200000)
          reconcile
                  the controller's first reconcile of --policies N (default 10000) Predictive
                  policies on simulated targets against a forescale apiserver process:
                  policies/s, controller RSS idle and with the policies; --workers N (default 2)
          fast-check (also: reconcile --fast-checks)
                  --policies N (default 10000) Reactive policies on ten live Prometheus series
                  (5 s scrapes), in real time: fast checks per second against the 15 s asked,
                  instant queries sent per second, controller CPU and RSS (--seconds 60)
          prometheus
                  a local prometheus with 14 backfilled days: query_range p50/p99 for 14 days at
                  5-minute steps, then --policies N (default 1000) Prometheus-backed policies
                  reconciled for --seconds S (default 20) at 5 virtual minutes per second:
                  queries per reconcile cold and warm, queries/s

        Options:
          --json   print only the JSON result
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        guard let benchmark = arguments.positional() else { throw UsageError("which benchmark? (http)") }
        _ = arguments.flag("json")  // accepted for symmetry: every benchmark prints JSON
        let report: [String: Any]
        switch benchmark {
        case "http":
            let seconds = try arguments.option("seconds", default: 3.0)
            let concurrency = try arguments.option("concurrency", default: 8)
            try arguments.finish()
            guard seconds > 0, concurrency > 0 else { throw UsageError("--seconds and --concurrency must be positive") }
            report = try await HTTPBenchmark.run(seconds: seconds, concurrency: concurrency)
        case "train":
            let epochs = try arguments.option("epochs", default: 3)
            let threads = try arguments.option("threads", default: min(2, ProcessInfo.processInfo.activeProcessorCount))
            let data = try arguments.option("data") ?? "examples/data/seed_multi_metric_data.csv"
            try arguments.finish()
            guard epochs > 0, threads > 0 else { throw UsageError("--epochs and --threads must be positive") }
            report = try TrainingBenchmark.run(dataPath: data, epochs: epochs, threads: threads)
        case "trainer":
            let policies = try arguments.option("policies", default: 10)
            let days = try arguments.option("days", default: 14)
            let threads = try arguments.option("threads", default: min(2, ProcessInfo.processInfo.activeProcessorCount))
            try arguments.finish()
            guard (1...1000).contains(policies), (3...60).contains(days), (1...64).contains(threads) else {
                throw UsageError("--policies 1–1000, --days 3–60, --threads 1–64")
            }
            report = try TrainerBenchmark.run(policies: policies, days: days, threads: threads)
        case "infer":
            let calls = try arguments.option("calls", default: 2000)
            let model = try arguments.option("model")
            try arguments.finish()
            guard calls >= 10 else { throw UsageError("--calls must be at least 10") }
            report = try InferenceBenchmark.run(modelPath: model, calls: calls)
        case "apiserver":
            let writes = try arguments.option("writes", default: 10_000)
            let writers = try arguments.option("writers", default: 16)
            let watchers = try arguments.option("watchers", default: 10)
            let objects = try arguments.option("objects", default: 10_000)
            let plainHTTP = arguments.flag("plain-http")
            let inMemory = arguments.flag("in-memory")
            try arguments.finish()
            guard writes > 0, writers > 0, watchers >= 0, objects >= 0 else {
                throw UsageError("counts must be positive")
            }
            report = try await APIServerBenchmark.run(
                writes: writes, writers: writers, watchers: watchers, objects: objects, plainHTTP: plainHTTP,
                inMemory: inMemory)
        case "informer":
            let objects = try arguments.option("objects", default: 10_000)
            try arguments.finish()
            guard objects > 0 else { throw UsageError("--objects must be positive") }
            report = try await KubeRuntimeBenchmarks.informer(objects: objects)
        case "reconcile":
            let policies = try arguments.option("policies", default: 10_000)
            let workers = try arguments.option("workers", default: 2)
            if arguments.flag("fast-checks") {
                // The fast path at fleet size, in real time (the same as `bench fast-check`).
                let seconds = try arguments.option("seconds", default: 60.0)
                try arguments.finish()
                guard (1...100_000).contains(policies), seconds > 0, seconds <= 3600 else {
                    throw UsageError("--policies 1…100000, --seconds (0, 3600]")
                }
                report = try await FastCheckBenchmark.run(policies: policies, seconds: seconds)
                break
            }
            try arguments.finish()
            guard policies > 0, workers > 0 else { throw UsageError("--policies and --workers must be positive") }
            report = try await ReconcileBenchmark.run(policies: policies, workers: workers)
        case "prometheus":
            let policies = try arguments.option("policies", default: 1000)
            let seconds = try arguments.option("seconds", default: 20.0)
            try arguments.finish()
            guard (1...100_000).contains(policies), seconds > 0, seconds <= 3600 else {
                throw UsageError("--policies 1…100000, --seconds (0, 3600]")
            }
            report = try await PrometheusBenchmark.run(policies: policies, seconds: seconds)
        case "fast-check":
            let policies = try arguments.option("policies", default: 10_000)
            let seconds = try arguments.option("seconds", default: 60.0)
            try arguments.finish()
            guard (1...100_000).contains(policies), seconds > 0, seconds <= 3600 else {
                throw UsageError("--policies 1…100000, --seconds (0, 3600]")
            }
            report = try await FastCheckBenchmark.run(policies: policies, seconds: seconds)
        case "queue":
            let keys = try arguments.option("keys", default: 200_000)
            try arguments.finish()
            guard keys > 0 else { throw UsageError("--keys must be positive") }
            report = await KubeRuntimeBenchmarks.queue(keys: keys)
        default:
            throw UsageError("unknown benchmark '\(benchmark)'")
        }
        printJSON(report)
        return ExitCode.success
    }
}

enum HTTPBenchmark {
    static func run(seconds: Double, concurrency: Int) async throws -> [String: Any] {
        var router = Router()
        let payload = Data(repeating: UInt8(ascii: "x"), count: 256)
        router.add("GET", "/ping") { _, writer in
            writer.respond(status: 200, headers: ["Content-Type": "text/plain"], body: payload)
        }
        let server = HTTPServer(handler: router.handler)
        let port = try server.start()
        let client = HTTPClient()
        let url = "http://127.0.0.1:\(port)/ping"
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var samples: [Double] = []
                    while ContinuousClock.now < deadline {
                        let begin = ContinuousClock.now
                        let response = try await client.execute(HTTPRequest(url: url))
                        guard response.status == 200, response.body.count == payload.count else {
                            throw TransportError.receiveFailed("unexpected response \(response.status)")
                        }
                        samples.append((ContinuousClock.now - begin).seconds * 1000)
                    }
                    return samples
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let connections = server.connectionCount
        await server.shutdown(gracePeriod: .seconds(1))
        client.shutdown()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return [
            "benchmark": "http",
            "requests": latencies.count,
            "seconds": elapsed,
            "concurrency": concurrency,
            "requests_per_second": Double(latencies.count) / elapsed,
            "latency_ms_p50": percentile(0.5),
            "latency_ms_p99": percentile(0.99),
            "server_connections_at_end": connections,
        ]
    }
}
