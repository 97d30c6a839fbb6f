import CLI
import Commands
import FaultProxy
import Foundation
import Simulation
import Transport

/// `forescale fault-proxy`: the soak's fault injector, in front of any HTTP(S) endpoint.
enum FaultProxyCommand: Subcommand {
    static let name = "fault-proxy"
    static let summary = "forward to an endpoint, injecting faults (5xx, 429, latency, resets, dropped watches)"
    static let usage = """
        Usage: forescale fault-proxy --upstream URL [--upstream-ca FILE] [--address 127.0.0.1] [--port 0]
                                     [--seed 1] [--rules FILE.json]

        Forwards every request to --upstream (an API server, AWS or moto, Prometheus) and,
        on the requests a rule picks, answers 5xx or 429 with Retry-After, adds latency,
        resets the connection (at once or mid-body), truncates the body, ends a watch stream
        early, or never answers. Random picks come from --seed, so a schedule repeats.
        Rules (a JSON array; --rules, or PUT at any time to \(FaultProxy.controlPath), which
        GET lists with the counts so far and DELETE clears):
          [{"name": "throttle", "method": "PATCH", "pathPrefix": "/apis/", "contains": "/status",
            "fault": "status:429:60", "probability": 0.2, "skip": 0, "limit": 100}]
        fault: status:CODE[:RETRY_AFTER_S], delay:MS, reset, resetMidBody, truncate,
        dropStream:MS, hang. Serves plain HTTP on loopback unless --address says otherwise.
        Prints the bound port.
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let upstream = try arguments.required("upstream")
        let upstreamCA = try arguments.option("upstream-ca")
        let address = try arguments.option("address") ?? "127.0.0.1"
        let port = try arguments.option("port", default: 0)
        let seed = try arguments.option("seed", default: 1)
        let rulesPath = try arguments.option("rules")
        try arguments.finish()
        guard (0...65535).contains(port) else { throw UsageError("--port must be between 0 and 65535") }
        guard upstream.hasPrefix("http://") || upstream.hasPrefix("https://") else {
            throw UsageError("--upstream must be an http:// or https:// URL")
        }
        guard seed >= 0 else { throw UsageError("--seed must be ≥ 0") }
        var rules: [FaultRule] = []
        if let rulesPath {
            guard let data = FileManager.default.contents(atPath: rulesPath) else {
                throw InputFileError(path: rulesPath, problem: "cannot read the file")
            }
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                throw InputFileError(path: rulesPath, problem: "not a JSON array of rules")
            }
            do throws(FaultRule.ParseError) {
                rules = try array.map { object throws(FaultRule.ParseError) in try FaultRule(json: object) }
            } catch {
                throw InputFileError(path: rulesPath, problem: error.description)
            }
        }
        var tls = TLSConfiguration()
        if let upstreamCA {
            guard FileManager.default.isReadableFile(atPath: upstreamCA) else {
                throw InputFileError(path: upstreamCA, problem: "cannot read the file")
            }
            tls.certificateAuthority = .file(upstreamCA)
        }
        var configuration = FaultProxy.Configuration(
            upstream: upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream, upstreamTLS: tls,
            address: address, port: port, seed: UInt64(seed))
        configuration.control = true
        let proxy = FaultProxy(configuration: configuration, rules: rules)
        let bound = try proxy.start()
        print(
            "forescale fault-proxy: forwarding http://\(address):\(bound) (port \(bound)) to \(upstream), \(rules.count) rules"
        )
        _ = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        let counts = proxy.counts
        print("forescale fault-proxy: \(counts.requests) requests, \(counts.totalInjected) faults injected")
        proxy.shutdown()
        return ExitCode.success
    }
}
