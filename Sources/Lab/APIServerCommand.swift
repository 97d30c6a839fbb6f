import APIServer
import CLI
import Commands
import FileIO
import Foundation
import Simulation

enum APIServerCommand: Subcommand {
    static let name = "apiserver"
    static let summary = "run the embedded Kubernetes-compatible API server"
    static let usage = """
        Usage: forescale apiserver --data-dir DIR [--address 127.0.0.1] [--port 0]
                                   [--kubeconfig-out FILE] [--token TOKEN | --token-file FILE]
                                   [--enable-test-hooks] [--event-ttl 3600]

        Serves the Kubernetes API subset Forescale needs (CRDs, ConfigMaps, Secrets, Events,
        Leases, Deployments with /scale, Jobs, CronJobs) over HTTP, persisting to DIR.
        Every request needs the bearer token: generated unless given, and written into the
        kubeconfig. A non-loopback --address requires --token or --token-file. Events last
        written more than --event-ttl seconds ago are deleted (default 3600, as kube-apiserver;
        0 keeps them). Stops gracefully on SIGINT or SIGTERM.
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let dataDirectory = try arguments.required("data-dir")
        let address = try arguments.option("address") ?? "127.0.0.1"
        let port = try arguments.option("port", default: 0)
        let kubeconfigOut = try arguments.option("kubeconfig-out")
        let tokenOption = try arguments.option("token")
        let tokenFile = try arguments.option("token-file")
        let testHooks = arguments.flag("enable-test-hooks")
        let eventTTL = try arguments.option("event-ttl", default: 3600.0)
        try arguments.finish()
        guard eventTTL >= 0, eventTTL <= 31_536_000 else {
            throw UsageError("--event-ttl is seconds between 0 (keep every Event) and 31536000")
        }
        guard (0...65535).contains(port) else { throw UsageError("--port must be between 0 and 65535") }
        var token = tokenOption
        if let tokenFile {
            guard
                let text = FileManager.default.contents(atPath: tokenFile).map({ String(decoding: $0, as: UTF8.self) })
            else {
                throw InputFileError(path: tokenFile, problem: "cannot read the token file")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !(token ?? "").isEmpty else {
                throw InputFileError(path: tokenFile, problem: "the token file is empty")
            }
        }
        if token == nil && !APIServer.isLoopback(address) {
            throw UsageError("refusing to listen on non-loopback address \(address) without --token or --token-file")
        }
        var configuration = APIServer.Configuration(
            dataDirectory: dataDirectory, address: address, port: port, token: token ?? APIServer.generateToken(),
            enableTestHooks: testHooks)
        configuration.eventTTL = eventTTL == 0 ? nil : .milliseconds(Int64(eventTTL * 1000))
        let server: APIServer
        do {
            server = try APIServer(configuration: configuration)
        } catch {
            if case .storage(let detail) = error { throw InputFileError(path: dataDirectory, problem: detail) }
            throw error
        }
        let bound = try server.start()
        if let kubeconfigOut {
            try AtomicFile.write(Data(server.kubeconfig().utf8), to: kubeconfigOut, mode: AtomicFile.secretMode)
        }
        print(
            "forescale apiserver: serving \(server.baseURL) (port \(bound)), \(server.objectCount) objects at "
                + "resourceVersion \(server.resourceVersion)\(kubeconfigOut.map { "; kubeconfig \($0)" } ?? "")"
        )
        let signal = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        print("forescale apiserver: signal \(signal), shutting down")
        server.shutdown()
        return ExitCode.success
    }
}
