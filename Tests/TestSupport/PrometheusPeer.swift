import ChildProcess
import Foundation
import KubeClient
import Transport

#if canImport(Glibc)
    import Glibc
#endif

/// The real Prometheus (Debian's `prometheus` 2.42, with `promtool`) on loopback with a
/// temporary TSDB: optionally backfilled from OpenMetrics text, optionally scraping one
/// target every second. Missing binaries fail the test with the install command.
public final class PrometheusPeer: @unchecked Sendable {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "the prometheus and promtool binaries are needed: run `make deps` (apt-get install prometheus)"
        }
    }

    public let directory: TemporaryDirectory
    public let port: Int
    private let arguments: [String]
    private var process: BackgroundProcess?

    public var url: String { "http://127.0.0.1:\(port)" }

    /// `openMetrics`: samples to backfill before starting (`# EOF` is added). `scrape`: a
    /// `host:port` serving /metrics, scraped every `scrapeSeconds`.
    public init(openMetrics: String? = nil, scrape: String? = nil, scrapeSeconds: Int = 1) async throws {
        guard Subprocess.isAvailable("prometheus"), Subprocess.isAvailable("promtool") else { throw Missing() }
        directory = try TemporaryDirectory("forescale-prometheus")
        port = try Self.freePort()
        let data = directory.file("tsdb")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        if let openMetrics {
            let file = directory.file("backfill.om")
            try (openMetrics.hasSuffix("\n") ? openMetrics : openMetrics + "\n").appending("# EOF\n").write(
                toFile: file, atomically: true, encoding: .utf8)
            // Two-hour blocks are the default; the data is old, so it goes straight to disk.
            let result = try await Subprocess.run(
                "promtool", ["tsdb", "create-blocks-from", "openmetrics", file, data])
            guard result.status == 0 else { throw PeerProcess.PeerError.noPort("promtool", result.stderr) }
        }
        var config = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        if let scrape {
            config +=
                "scrape_configs:\n  - job_name: test\n    scrape_interval: \(scrapeSeconds)s\n    static_configs:\n"
                + "      - targets: ['\(scrape)']\n"
        }
        try config.write(toFile: directory.file("prometheus.yml"), atomically: true, encoding: .utf8)
        // The backfilled samples are old: a retention shorter than their age would delete them.
        arguments = [
            "--config.file=\(directory.file("prometheus.yml"))", "--storage.tsdb.path=\(data)",
            "--storage.tsdb.retention.time=100y", "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        try await start()
    }

    /// Starts (or restarts) the server on the same TSDB and waits until it is ready.
    public func start() async throws {
        process = try BackgroundProcess("prometheus", arguments)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let result = try? await Subprocess.run("curl", ["-fsS", "-o", "/dev/null", "\(url)/-/ready"]),
                result.status == 0
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw PeerProcess.PeerError.noPort("prometheus", "not ready within 30 s")
    }

    /// SIGTERM and wait (the data stays for a restart).
    public func stop() async {
        guard let process else { return }
        kill(process.pid, SIGTERM)
        _ = await process.wait()
        self.process = nil
    }

    public func remove() async {
        await stop()
        directory.remove()
    }

    static func freePort() throws -> Int {
        guard let reserved = try? ReservedPort() else { throw PeerProcess.PeerError.noPort("socket", "no free port") }
        reserved.release()
        return reserved.port
    }
}

/// A Prometheus exporter of one gauge whose value the test moves: `series` (a name with its labels) at `value`.
public final class GaugeExporter: Sendable {
    public let value: Locked<Double>
    private let server: HTTPServer
    public let port: Int

    public init(_ series: String, value: Double) throws {
        let gauge = Locked(value)
        let name = series.prefix { $0 != "{" }
        server = HTTPServer { _, writer in
            writer.respond(
                status: 200, contentType: "text/plain; version=0.0.4",
                body: "# TYPE \(name) gauge\n\(series) \(gauge.value)\n")
        }
        self.value = gauge
        port = try server.start()
    }

    /// host:port, as a scrape target.
    public var target: String { "127.0.0.1:\(port)" }

    public func shutdown() { server.shutdown() }
}
