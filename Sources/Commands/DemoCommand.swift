import APIServer
import Autoscaler
import FileIO
import Forecasting
import Foundation
import KubeClient
import KubeCore
import Transport

enum DemoCommand: Subcommand {
    static let name = "demo"
    static let summary = "run the whole system on this machine: API server, simulated target, model, controller"
    static let usage = """
        Usage: forescale demo [--data-dir DIR] [--speed 300] [--duration SECONDS] [--port 0]
                              [--dashboard-address 127.0.0.1] [--dashboard-port 8080]
                              [--model Models/seed-load.fsm] [--crd crds/scalingpolicy.yaml]

        Starts the embedded API server (kubeconfig in DIR), applies the ScalingPolicy CRD, a
        sales calendar and two policies on simulated targets replaying the prototype's synthetic
        trace (Predictive, and Reactive for comparison), trains a small model first if none is
        present, and runs the controller in virtual time (--speed virtual seconds per second:
        300 = one 5-minute step per second). A sale day begins four virtual hours in.
        The dashboard (and /metrics) is served on --dashboard-address:--dashboard-port, loopback
        by default (0 picks a free port). Runs until Ctrl-C or --duration (real seconds).
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let dataDirectoryOption = try arguments.option("data-dir")
        let speed = try arguments.option("speed", default: 300.0)
        let duration = try arguments.option("duration", as: Double.self)
        let port = try arguments.option("port", default: 0)
        let dashboardAddress = try arguments.option("dashboard-address") ?? "127.0.0.1"
        let dashboardPort = try arguments.option("dashboard-port", default: 8080)
        let modelPath = try arguments.option("model") ?? locate("Models/seed-load.fsm")
        let crdPath = try arguments.option("crd") ?? locate("crds/scalingpolicy.yaml")
        try arguments.finish()
        guard speed > 0, speed <= 1_000_000 else { throw UsageError("--speed must be in (0, 1000000]") }
        if let duration, !(duration > 0 && duration <= 31_536_000) {
            throw UsageError("--duration must be a positive number of seconds")
        }
        guard (0...65535).contains(port), (0...65535).contains(dashboardPort) else {
            throw UsageError("ports are 0…65535")
        }
        // The state (Secrets included) and the kubeconfig with its token live here: private,
        // and under a name nobody can predict and prepare.
        let dataDirectory: String
        do {
            if let dataDirectoryOption {
                try AtomicFile.createPrivateDirectory(dataDirectoryOption)
                dataDirectory = dataDirectoryOption
            } else {
                dataDirectory = try AtomicFile.makeTemporaryDirectory(
                    prefix: FileManager.default.temporaryDirectory.path + "/forescale-demo-")
            }
        } catch {
            throw InputFileError(path: error.path, problem: error.problem)
        }

        guard let crdData = FileManager.default.contents(atPath: crdPath) else {
            throw InputFileError(path: crdPath, problem: "cannot read the CRD (run from the repository, or pass --crd)")
        }
        let crd: JSONValue
        do { crd = try YAML.parse(String(decoding: crdData, as: UTF8.self)) } catch {
            throw InputFileError(path: crdPath, problem: "\(error)")
        }
        if !FileManager.default.fileExists(atPath: modelPath) {
            print("no model at \(modelPath): training one on days 1–18 of the synthetic trace …")
            try trainDefaultModel(to: modelPath, now: Date())
        }

        // API server and client.
        let server: APIServer
        do {
            server = try APIServer(
                configuration: .init(
                    dataDirectory: dataDirectory + "/apiserver", port: port, token: APIServer.generateToken()))
        } catch {
            throw InputFileError(path: dataDirectory, problem: "\(error)")
        }
        _ = try server.start()
        let kubeconfig = dataDirectory + "/kubeconfig"
        try AtomicFile.write(Data(server.kubeconfig().utf8), to: kubeconfig, mode: AtomicFile.secretMode)
        let client = KubernetesClient(
            connection: try KubeConfigLoader(environment: ["KUBECONFIG": kubeconfig]).load(),
            fieldManager: "forescale-demo")
        defer {
            client.shutdown()
            server.shutdown()
        }

        // Virtual time: the trace is shifted by whole weeks so its time of day and weekday are kept.
        let anchor = Date()
        let virtualStart = try SeedScenario.virtualStart(anchor: anchor).start
        let realStart = ContinuousClock.now
        let now: @Sendable () -> Date = {
            virtualStart.addingTimeInterval((ContinuousClock.now - realStart).seconds * speed)
        }

        try await applyOrUpdate(client, .customResourceDefinitions, namespace: nil, crd)
        try await Task.sleep(for: .milliseconds(100))
        try await applyOrUpdate(
            client, .configMaps, namespace: "default", try SeedScenario.calendarConfigMap(anchor: anchor))
        let modelURL = "file://" + URL(fileURLWithPath: modelPath).standardizedFileURL.path
        try await applyOrUpdate(
            client, .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: modelURL, calendar: "shop-calendar"))
        try await applyOrUpdate(
            client, .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web-reactive", mode: "Reactive", modelURL: nil, calendar: nil))

        var configuration = Controller.Configuration(namespace: "default")
        configuration.speed = speed
        configuration.reportingInstance = "forescale-demo"
        // Local files the demo's policies may name: the repository's models and examples, and the data directory.
        let fileRoots = FileRoots([
            URL(fileURLWithPath: modelPath).deletingLastPathComponent().path, locate("examples"), dataDirectory,
        ])
        let controller = Controller(
            client: client, configuration: configuration,
            targets: TargetRegistry(client: client, anchor: anchor, fileRoots: fileRoots),
            models: ModelRegistry(fileRoots: fileRoots), now: now)
        let endpoint: ControllerEndpoint
        do {
            endpoint = try ControllerEndpoint.start(
                controller: controller, address: dashboardAddress, port: dashboardPort)
        } catch {
            throw UsageError(
                "cannot serve the dashboard on \(dashboardAddress):\(dashboardPort) (\(error)); pass --dashboard-port "
                    + "0 for any free port"
            )
        }
        let dashboardHost = dashboardAddress.contains(":") ? "[\(dashboardAddress)]" : dashboardAddress
        defer { endpoint.shutdown() }

        print(
            """
            forescale demo is running (virtual time \(Timestamps.format(virtualStart)), \(Int(speed))× real time; a\
             sale day starts in 4 virtual hours)
              API server:  \(server.baseURL)   kubeconfig: \(kubeconfig)
              dashboard:   http://\(dashboardHost):\(endpoint.port)/
              metrics:     http://\(dashboardHost):\(endpoint.port)/metrics   health:\
             http://\(dashboardHost):\(endpoint.port)/healthz
              watch it:    kubectl --kubeconfig \(kubeconfig) get sp -w
                           kubectl --kubeconfig \(kubeconfig) describe sp web
            Ctrl-C stops it.
            """)
        let running = Task { await controller.run() }
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(10))
                guard let policy = controller.informer.cache.get("default/web"),
                    let reactive = controller.informer.cache.get("default/web-reactive")
                else { continue }
                let load = policy.value(at: ["status", "currentLoad"]).map { FieldSelector.text($0) } ?? "-"
                print(
                    "\(Timestamps.format(now()))  load \(load)  predictive capacity "
                        + "\(FieldSelector.text(policy.value(at: ["status", "currentCapacity"])))  reactive capacity "
                        + "\(FieldSelector.text(reactive.value(at: ["status", "currentCapacity"])))"
                )
            }
        }
        if let duration {
            try? await Task.sleep(for: .milliseconds(Int64(duration * 1000)))
        } else {
            _ = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        }
        progress.cancel()
        running.cancel()
        await running.value
        print(
            "forescale demo: stopped after \(controller.metrics.reconcileCount) reconciles; state kept in "
                + "\(dataDirectory)"
        )
        return ExitCode.success
    }

    /// A path relative to the working directory, else relative to the repository this
    /// executable was built in (.build/<triple>/<configuration>/forescale, reached through
    /// the .build/<configuration> symlink or not): the nearest ancestor that has it.
    static func locate(_ relative: String) -> String {
        if FileManager.default.fileExists(atPath: relative) { return relative }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            directory = directory.deletingLastPathComponent()
        }
        return relative
    }

    static func applyOrUpdate(
        _ client: KubernetesClient, _ resource: ResourceRef, namespace: String?, _ object: JSONValue
    ) async throws {
        let name = object.value(at: ["metadata", "name"])!.stringValue!
        _ = try await client.patch(resource, namespace: namespace, name: name, .apply(object, force: true))
    }

    /// The default model (see Models/README.md): the controller's recipe on days 1–18 of the
    /// synthetic trace, as load (CPU × 4), with the sale calendar.
    static func trainDefaultModel(to path: String, now: Date) throws {
        let generated = SyntheticGenerator.generate(days: 18, seed: 42)
        let events = BusinessCalendar.events(
            timestamps: generated.timestamps, flags: generated.columns["is_sale_active"]!, step: 300,
            prefix: "sale-day",
            multiplier: SeedScenario.saleMultiplier)
        let load = TimeSeriesTable(
            timestamps: generated.timestamps,
            columns: ["load": generated.columns["cpu_utilization"]!.map { $0 * Float(SeedScenario.loadScale) }],
            columnNames: ["load"])
        let outcome = try Training.run(
            table: load, targetColumn: "load", recipe: .controller(horizon: 3, hasCalendar: true), events: events,
            createdAt: now)
        try outcome.artefact.write(to: path)
    }
}
