import APIServer
import Autoscaler
import CLI
import Commands
import FileIO
import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import Transport

enum DemoCommand: Subcommand {
    static let name = "demo"
    static let summary = "run the whole system on this machine: API server, simulated target, model, controller"
    static let usage = """
        Usage: forescale demo [--data-dir DIR] [--speed 300] [--duration SECONDS] [--virtual-hours H] [--port 0]
                              [--dashboard-address 127.0.0.1] [--dashboard-port 8080]
                              [--model Models/seed-load.fsm] [--crd crds/scalingpolicy.yaml] [--slo 80]

        Starts the embedded API server (kubeconfig in DIR), applies the ScalingPolicy CRD, a
        sales calendar and two policies on simulated targets replaying the prototype's synthetic
        trace (Predictive, and Reactive for comparison), trains a small model first if none is
        present, and runs the controller in virtual time (--speed virtual seconds per second:
        300 = one 5-minute step per second). A sale day begins four virtual hours in.
        The dashboard (and /metrics) is served on --dashboard-address:--dashboard-port, loopback
        by default (0 picks a free port). Runs until Ctrl-C or --duration (real seconds), then
        prints the two policies side by side over the same virtual hours: overload intervals
        (utilisation above --slo), instance-hours, actions, and the capacity each had when the
        sale began (the dashboard shows the same comparison live). Everything the demo shows —
        its output, the dashboard, status, Events, object timestamps — reads one virtual clock.
        --virtual-hours H stops the controller H virtual hours in and prints the comparison
        then; the dashboard keeps showing that moment until Ctrl-C or --duration.
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let dataDirectoryOption = try arguments.option("data-dir")
        let speed = try arguments.option("speed", default: 300.0)
        let duration = try arguments.option("duration", as: Double.self)
        let virtualHours = try arguments.option("virtual-hours", as: Double.self)
        let port = try arguments.option("port", default: 0)
        let dashboardAddress = try arguments.option("dashboard-address") ?? "127.0.0.1"
        let dashboardPort = try arguments.option("dashboard-port", default: 8080)
        let modelPath = try arguments.option("model") ?? RepositoryFiles.locate("Models/seed-load.fsm")
        let crdPath = try arguments.option("crd") ?? RepositoryFiles.locate("crds/scalingpolicy.yaml")
        let slo = try arguments.option("slo", default: 80.0)
        try arguments.finish()
        guard slo > 0, slo <= 100 else { throw UsageError("--slo is a per-instance utilisation in (0, 100]") }
        guard speed > 0, speed <= 1_000_000 else { throw UsageError("--speed must be in (0, 1000000]") }
        if let virtualHours, !(virtualHours > 0 && virtualHours <= 8760) {
            throw UsageError("--virtual-hours must be a positive number of hours (at most 8760)")
        }
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

        // One clock for everything the demo shows: virtual time, in the controller, its Events
        // and the API server's timestamps alike. The trace is shifted by whole weeks so its
        // time of day and weekday are kept.
        let anchor = Date()
        let virtualStart = try SeedScenario.virtualStart(anchor: anchor).start
        let realStart = ContinuousClock.now
        let now: @Sendable () -> Date = {
            virtualStart.addingTimeInterval((ContinuousClock.now - realStart).seconds * speed)
        }

        // API server and client.
        let server: APIServer
        do {
            var serverConfiguration = APIServer.Configuration(
                dataDirectory: dataDirectory + "/apiserver", port: port, token: APIServer.generateToken())
            serverConfiguration.now = now
            // The demo compresses days into minutes and its Events are the story the dashboard
            // tells: they live a virtual week, not kube-apiserver's hour.
            serverConfiguration.eventTTL = .seconds(7 * 86_400)
            server = try APIServer(configuration: serverConfiguration)
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
        configuration.sloUtilization = slo
        configuration.reportingInstance = "forescale-demo"
        // Local files the demo's policies may name: the repository's models and examples, and the data directory.
        let fileRoots = FileRoots([
            URL(fileURLWithPath: modelPath).deletingLastPathComponent().path, RepositoryFiles.locate("examples"),
            dataDirectory,
        ])
        let controller = Controller(
            client: client, configuration: configuration,
            targets: TargetRegistry(
                client: client, anchor: anchor, fileRoots: fileRoots,
                // The demo's policies read its one model; nothing else outside the cluster is theirs.
                access: AccessControl(
                    rules: try AccessRules.readingModels(from: [
                        "file://" + URL(fileURLWithPath: modelPath).standardizedFileURL.deletingLastPathComponent().path
                    ]))),
            models: ModelRegistry(fileRoots: fileRoots), clock: ContinuousClock(), now: now,
            log: Logger(now: now))
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
            var printed = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(10))
                guard let line = progressLine(controller, now: now()) else { continue }
                if printed % 20 == 0 { print(progressHeader) }
                print(line)
                printed += 1
            }
        }
        // --virtual-hours: the controller stops there and the comparison is printed; the
        // dashboard keeps showing that moment (screenshots, a talk) until Ctrl-C or --duration.
        let virtualEnd = virtualHours.map { virtualStart.addingTimeInterval($0 * 3600) }
        let stopped = Task {
            guard let virtualEnd else { return }
            while !Task.isCancelled, now() < virtualEnd { try? await Task.sleep(for: .milliseconds(100)) }
            guard !Task.isCancelled else { return }
            progress.cancel()
            running.cancel()
            await running.value
            printSummary(controller, anchor: anchor, now: now(), slo: configuration.sloUtilization, dataDirectory)
            print(
                "the controller stopped at \(Timestamps.format(virtualEnd)); the dashboard stays up (Ctrl-C stops it)")
        }
        if let duration {
            try? await Task.sleep(for: .milliseconds(Int64(duration * 1000)))
        } else {
            _ = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        }
        let finishedEarlier = virtualEnd.map { now() >= $0 } ?? false
        if finishedEarlier {
            await stopped.value
        } else {
            stopped.cancel()
            progress.cancel()
            running.cancel()
            await running.value
            printSummary(controller, anchor: anchor, now: now(), slo: configuration.sloUtilization, dataDirectory)
        }
        return ExitCode.success
    }

    /// Where it stopped, then the two policies side by side.
    static func printSummary(_ controller: Controller, anchor: Date, now: Date, slo: Double, _ dataDirectory: String) {
        print(
            "\nforescale demo: stopped at \(Timestamps.format(now)) (virtual) after "
                + "\(controller.metrics.reconcileCount) reconciles; state kept in \(dataDirectory)")
        let events = (try? SeedScenario.events(anchor: anchor)) ?? []
        guard
            let comparison = PolicyComparison(
                ["default/web", "default/web-reactive"].map { key in
                    PolicyComparison.Input(
                        key: key, mode: key.hasSuffix("reactive") ? "Reactive" : "Predictive",
                        samples: controller.history.samples(key), actions: controller.history.actions(key))
                }, slo: slo, events: events)
        else {
            print("too short to compare the policies: run for at least a few virtual steps")
            return
        }
        print(
            "\nPredictive vs. reactive over the same \(String(format: "%.1f", comparison.hours)) virtual hours "
                + "(overload: utilisation above \(Int(comparison.slo)) %):")
        print(TextTable.render(header: comparison.table[0], rows: Array(comparison.table.dropFirst())))
        if comparison.event == nil {
            print("(the sale day begins 4 virtual hours in: run longer, or faster with --speed, to see it)")
        }
    }

    static let progressHeader =
        "virtual time (UTC)     load  predictive: in service  util  reactive: in service  util"

    /// One aligned progress row: load (% of one instance) and each policy's capacity and utilisation.
    static func progressLine(_ controller: Controller, now: Date) -> String? {
        let predictive = controller.history.samples("default/web").last
        let reactive = controller.history.samples("default/web-reactive").last
        guard let predictive, let reactive else { return nil }
        func utilisation(_ sample: PolicyHistory.Sample) -> String {
            sample.load.map { String(format: "%3.0f %%", $0 / Double(max(1, sample.inServiceCapacity))) } ?? "   –"
        }
        let load = predictive.load.map { String(format: "%5.0f", $0) } ?? "    –"
        return String(
            format: "%@  %@  %22ld  %@  %20ld  %@", Timestamps.format(now), load, predictive.inServiceCapacity,
            utilisation(predictive), reactive.inServiceCapacity, utilisation(reactive))
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
