import Autoscaler
import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import TestSupport
import Testing
import Transport

/// The controller end to end: embedded API server, the ScalingPolicy CRD, simulated targets
/// replaying the seed trace, the committed default model, virtual time stepped by the test.
@Suite struct ControllerTests {
    final class World: Sendable {
        let cluster: EmbeddedCluster
        let client: KubernetesClient
        let anchor = Date(timeIntervalSince1970: 1_800_000_000)
        let clock: Locked<Date>
        let targets: TargetRegistry
        let modelURL: String
        /// The repository (committed models, traces) and this test's directory.
        let fileRoots: FileRoots

        init() async throws {
            cluster = try EmbeddedCluster()
            client = try cluster.kubeClient(fieldManager: "forescale-controller")
            try await cluster.installScalingPolicyCRD(client)
            _ = try await client.create(
                .configMaps, namespace: "default", try SeedScenario.calendarConfigMap(anchor: anchor))
            clock = Locked(try SeedScenario.virtualStart(anchor: anchor).start)
            fileRoots = FileRoots([Fixtures.root.path, cluster.directory.path])
            targets = TargetRegistry(
                client: client, anchor: anchor, fileRoots: fileRoots, access: .readingModels(under: fileRoots))
            modelURL = "file://" + Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path
        }

        func controller() -> Controller {
            let clock = self.clock
            return Controller(
                client: client, configuration: .init(namespace: "default"), targets: targets,
                models: ModelRegistry(fileRoots: fileRoots), now: { clock.value })
        }

        func stop() {
            client.shutdown()
            cluster.stop()
        }

        func policy(_ name: String) async throws -> JSONValue {
            try await client.get(.scalingPolicies, namespace: "default", name: name)
        }

        /// One virtual step: reconcile each policy (fresh from the API), then advance 5 minutes.
        func step(_ controller: Controller, _ names: [String]) async throws {
            for name in names { _ = try await controller.reconcile(policy: try await policy(name)) }
            await controller.flushEvents()
            clock.withLock { $0 = $0.addingTimeInterval(300) }
        }

        func condition(_ policy: JSONValue, _ type: String) -> JSONValue? {
            policy.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"]?.stringValue == type }
        }

        func events(about name: String) async throws -> [JSONValue] {
            try await client.list(.coreEvents, namespace: "default", fieldSelector: "involvedObject.name=\(name)").items
        }
    }

    @Test func predictiveIsReadyBeforeTheSaleWhileReactiveLags() async throws {
        let world = try await World()
        defer { world.stop() }
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: world.modelURL, calendar: "shop-calendar"))
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web-reactive", mode: "Reactive", modelURL: nil, calendar: nil))
        let controller = world.controller()
        let saleStart = try SeedScenario.events(anchor: world.anchor).first { $0.start >= world.clock.value }!.start
        var overload: [String: Int] = ["web": 0, "web-reactive": 0]
        var atSaleStart: [String: Int] = [:]
        while world.clock.value < saleStart.addingTimeInterval(2 * 3600) {
            try await world.step(controller, ["web", "web-reactive"])
            let now = world.clock.value
            for name in ["web", "web-reactive"] {
                let target = try #require(world.targets.simulated("default/\(name)"))
                let inService = target.capacity(at: now).inService
                if now >= saleStart, target.demand(at: now) / Double(max(1, inService)) > 80 {
                    overload[name, default: 0] += 1
                }
                if atSaleStart[name] == nil, now >= saleStart { atSaleStart[name] = inService }
            }
        }
        let demandAtStart = try #require(world.targets.simulated("default/web")).demand(at: saleStart)
        let needed = Int((demandAtStart / 80).rounded(.up))
        print(
            "controller e2e: demand at sale start \(Int(demandAtStart)) needs \(needed) at ≤80%; in service: predictive \(atSaleStart["web"]!), reactive \(atSaleStart["web-reactive"]!); overloaded 5-minute steps in the first 2 h: predictive \(overload["web"]!), reactive \(overload["web-reactive"]!)"
        )
        #expect(atSaleStart["web"]! >= needed, "predictive capacity was in service when the sale began")
        #expect(atSaleStart["web-reactive"]! < needed, "reactive had not scaled yet")
        #expect(overload["web"]! < overload["web-reactive"]!)

        let web = try await world.policy("web")
        #expect(world.condition(web, "Ready")?["status"] == "True")
        #expect(world.condition(web, "ModelReady")?["status"] == "True")
        #expect(world.condition(web, "Fallback")?["status"] == "False")
        #expect(web.value(at: ["status", "lastForecast", "points"])?.arrayValue?.isEmpty == false)
        #expect(web.value(at: ["status", "observedGeneration"]) == 1)
        let scaled = try await world.events(about: "web").filter { $0["reason"] == "ScaledUp" }
        #expect(!scaled.isEmpty)
        #expect(scaled.allSatisfy { $0["message"]?.stringValue?.contains("capacity ") == true })
    }

    @Test func forecastOnlyNeverActsAndMissingModelFallsBack() async throws {
        let world = try await World()
        defer { world.stop() }
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(
                name: "watch-only", mode: "ForecastOnly", modelURL: world.modelURL, calendar: "shop-calendar"))
        let corruptPath = world.cluster.directory.file("corrupt.fsm")
        var bytes = try Data(contentsOf: Fixtures.root.appendingPathComponent("Models/seed-load.fsm"))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: corruptPath))
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "corrupt", mode: "Predictive", modelURL: "file://" + corruptPath, calendar: nil))
        let controller = world.controller()
        for _ in 0..<60 { try await world.step(controller, ["watch-only", "corrupt"]) }
        #expect(
            try #require(world.targets.simulated("default/watch-only")).changeLog.isEmpty,
            "ForecastOnly never sets capacity")
        let watched = try await world.policy("watch-only")
        #expect(
            watched.value(at: ["status", "desiredCapacity"])?.intValue ?? 0 > 2,
            "it still computed and recorded a desired capacity")
        let corrupt = try await world.policy("corrupt")
        #expect(world.condition(corrupt, "ModelReady")?["reason"] == "ModelCorrupt")
        #expect(world.condition(corrupt, "Fallback")?["status"] == "True")
        #expect(corrupt.value(at: ["status", "mode"]) == "Reactive")
        #expect(try await world.events(about: "corrupt").contains { $0["reason"] == "ModelCorrupt" })
    }

    @Test func examplesAreAcceptedAndParse() async throws {
        let world = try await World()
        defer { world.stop() }
        let directory = Fixtures.root.appendingPathComponent("examples/policies")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        #expect(
            files == [
                "autoscaling-group.yaml", "deployment-prometheus.yaml", "deployment.yaml", "simulated.yaml",
                "threshold.yaml",
            ])
        for file in files {
            let manifest = try YAML.parse(
                String(decoding: try Data(contentsOf: directory.appendingPathComponent(file)), as: UTF8.self))
            let created = try await world.client.create(.scalingPolicies, namespace: "default", manifest)
            guard case .success = PolicySpec.parse(created["spec"]) else {
                Issue.record("\(file) does not parse")
                continue
            }
        }
        let calendar = try YAML.parse(
            String(
                decoding: try Data(
                    contentsOf: Fixtures.root.appendingPathComponent("examples/calendar/calendar-configmap.yaml")),
                as: UTF8.self))
        try await world.client.delete(.configMaps, namespace: "default", name: "shop-calendar")  // the World's own
        let configMap = try await world.client.create(.configMaps, namespace: "default", calendar)
        let events = try BusinessCalendar.parse(
            Data((configMap.value(at: ["data", "events.json"])?.stringValue ?? "").utf8))
        #expect(events.map(\.name) == ["black-friday", "cyber-monday"])
    }

    @Test func metricsAndHealthEndpoints() async throws {
        let world = try await World()
        defer { world.stop() }
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: world.modelURL, calendar: nil))
        let controller = world.controller()
        let endpoint = try ControllerEndpoint.start(controller: controller, address: "127.0.0.1", port: 0)
        defer { endpoint.shutdown() }
        let running = Task { await controller.run() }
        defer { running.cancel() }
        let http = HTTPClient()
        defer { http.shutdown() }
        let base = "http://127.0.0.1:\(endpoint.port)"
        #expect(try await http.execute(.init(url: base + "/healthz")).status == 200)
        #expect(
            try await eventually(every: .milliseconds(20)) {
                try await http.execute(.init(url: base + "/readyz")).status == 200
            })
        #expect(try await eventually(every: .milliseconds(20)) { controller.metrics.reconcileCount > 0 })
        let text = String(decoding: try await http.execute(.init(url: base + "/metrics")).body, as: UTF8.self)
        #expect(text.contains("forescale_reconcile_total "))
        #expect(text.contains("forescale_reconcile_duration_seconds_bucket{le=\"+Inf\"}"))
        #expect(text.contains("forescale_policy_capacity{namespace=\"default\",policy=\"web\",kind=\"desired\"}"))
        #expect(text.contains("forescale_model_age_seconds{namespace=\"default\",policy=\"web\"}"))
    }

    @Test func aReplacedModelFileIsHotReloaded() async throws {
        let world = try await World()
        defer { world.stop() }
        let path = world.cluster.directory.file("model.fsm")
        let original = try Data(contentsOf: Fixtures.root.appendingPathComponent("Models/seed-load.fsm"))
        try original.write(to: URL(fileURLWithPath: path))
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: "file://" + path, calendar: nil))
        let controller = world.controller()
        try await world.step(controller, ["web"])
        let before = try await world.policy("web").value(at: ["status", "model", "version"])?.stringValue
        var artefact = try ModelArtefact.decode(original, path: path)
        artefact.header.createdAt = Date(timeIntervalSince1970: 1_900_000_000)
        try artefact.write(to: path)  // atomic replace, as the trainer promotes
        try await world.step(controller, ["web"])
        let after = try await world.policy("web")
        #expect(before != nil && after.value(at: ["status", "model", "version"])?.stringValue != before)
        #expect(after.value(at: ["status", "model", "trainedAt"]) == "2030-03-17T17:46:40Z")
    }

    @Test func invalidSpecGetsAConditionAndOneEventWithoutRetrying() async throws {
        let world = try await World()
        defer { world.stop() }
        var policy = SeedScenario.policy(name: "bad", mode: "Predictive", modelURL: nil, calendar: nil)
        // What the CRD cannot say and the engine refuses: a simulated target's inputs are its
        // trace's columns, not queries. (Mistakes between fields the CRD's rules catch are
        // refused at apply time: ScalingPolicyCRDRuleTests.)
        policy.setValue([["name": "network_in", "query": "rate(x[5m])"]], at: ["spec", "metrics", "inputs"])
        _ = try await world.client.create(.scalingPolicies, namespace: "default", policy)
        let controller = world.controller()
        for _ in 0..<3 {
            #expect(try await controller.reconcile(policy: try await world.policy("bad")) == .awaitChange)
        }
        await controller.flushEvents()
        let bad = try await world.policy("bad")
        #expect(world.condition(bad, "Ready")?["reason"] == "InvalidSpec")
        #expect(world.condition(bad, "Ready")?["message"]?.stringValue?.contains("spec.metrics.inputs[0]") == true)
        let events = try await world.events(about: "bad").filter { $0["reason"] == "InvalidSpec" }
        #expect(events.count == 1 && events.first?["series"] == nil, "one Event, not repeated on every pass")
    }

    @Test func metricsGapNeverScalesInAndRestartNeitherRepeatsNorLosesActions() async throws {
        let world = try await World()
        defer { world.stop() }
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: world.modelURL, calendar: "shop-calendar"))
        // Start over-provisioned with no metrics at all: it must hold, not scale in.
        var starved = SeedScenario.policy(
            name: "starved", mode: "Reactive", modelURL: nil, calendar: nil, initialCapacity: 10)
        starved.setValue("starved", at: ["spec", "target", "name"])
        _ = try await world.client.create(.scalingPolicies, namespace: "default", starved)
        let starvedSpec = try PolicySpec.parse(starved["spec"]).get()
        let starvedTarget = try SimulationPlugin.target(spec: starvedSpec, anchor: world.anchor)
        world.targets.register(
            "default/starved", namespace: "default", spec: starvedSpec,
            binding: .init(target: starvedTarget, metrics: NoMetrics()))

        var controller = world.controller()
        for step in 0..<90 {
            if step == 45 { controller = world.controller() }  // a restart: new informer, queue, caches
            try await world.step(controller, ["web", "starved"])
        }
        #expect(starvedTarget.target.changeLog.isEmpty)
        let starvedPolicy = try await world.policy("starved")
        #expect(world.condition(starvedPolicy, "MetricsAvailable")?["status"] == "False")

        let log = try #require(world.targets.simulated("default/web")).changeLog
        let scaleEvents = try await world.events(about: "web").filter {
            $0["reason"] == "ScaledUp" || $0["reason"] == "ScaledDown"
        }
        let recorded = scaleEvents.reduce(0) { $0 + ($1["count"]?.intValue ?? 1) }
        #expect(!log.isEmpty)
        #expect(recorded == log.count, "one Event per capacity change across the restart")
        #expect(zip(log, log.dropFirst()).allSatisfy { $0.capacity != $1.capacity }, "no action repeated")
        let web = try await world.policy("web")
        #expect(web.value(at: ["status", "lastAction", "to"])?.intValue == log.last?.capacity)
    }

    /// `kubectl get sp -w` on a steady policy prints nothing for three virtual hours of
    /// reconciles (past the hourly refresh of the observation fields), then the real change.
    @Test(.enabled(if: Subprocess.isAvailable("kubectl"))) func aWatchOnASteadyPolicyIsQuiet() async throws {
        let world = try await World()
        defer { world.stop() }
        let rows = (0..<4000).map { "\(Timestamps.format(world.anchor.addingTimeInterval(Double($0) * 300))),120" }
        let trace = world.cluster.directory.file("steady.csv")
        try ("timestamp,load\n" + rows.joined(separator: "\n") + "\n").write(
            toFile: trace, atomically: true, encoding: .utf8)
        var policy = SeedScenario.policy(name: "steady", mode: "Reactive", modelURL: nil, calendar: nil)
        policy.setValue(.string(trace), at: ["spec", "target", "simulation", "trace"])
        policy.setValue(1, at: ["spec", "target", "simulation", "loadScale"])
        _ = try await world.client.create(.scalingPolicies, namespace: "default", policy)
        let controller = world.controller()
        for _ in 0..<6 { try await world.step(controller, ["steady"]) }

        // The watch is running once it has printed the object; every line after that is a change.
        let watch = try world.cluster.kubectlInBackground(["get", "sp", "steady", "-w"])
        func printed(_ output: String) -> [[Substring]] {
            output.split(separator: "\n").filter { $0.hasPrefix("steady") }.map {
                $0.split(separator: " ", omittingEmptySubsequences: true)
            }.filter { $0.count >= 5 }
        }
        _ = try await watch.waitForStdout { !printed($0).isEmpty }
        for _ in 0..<36 { try await world.step(controller, ["steady"]) }

        // A real change shows; it also marks the end of the quiet part (a watch delivers in order).
        _ = try await world.client.patch(
            .scalingPolicies, namespace: "default", name: "steady", .merge(["spec": ["minCapacity": 5]]))
        try await world.step(controller, ["steady"])
        let output = try await watch.waitForStdout { printed($0).last?[4] == "5/5" }
        _ = await watch.terminate()
        let seen = printed(output)
        let beforeTheChange = seen.filter { $0[2] == "2" }
        #expect(beforeTheChange.count == 1, "the list and nothing after it until the change: \(output)")
        #expect(beforeTheChange.first?[4] == "2/2", "\(output)")
        #expect(seen.count >= 2 && seen.last?[4] == "5/5", "the change shows: \(output)")
    }

    /// What an operator used to HPA reads: columns with kinds, units and horizons, `-o wide`
    /// with the model and last action, describe naming its baseline, explain from the CRD's
    /// schema, a mistake between fields refused at apply, Events sortable by lastTimestamp.
    @Test(.enabled(if: Subprocess.isAvailable("kubectl"))) func kubectlReadsLikeHPA() async throws {
        let world = try await World()
        defer { world.stop() }
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: world.modelURL, calendar: "shop-calendar"))
        let controller = world.controller()
        for _ in 0..<50 { try await world.step(controller, ["web"]) }

        func kubectl(_ arguments: [String], input: String? = nil) async throws -> String {
            let result = try await world.cluster.kubectl(arguments, input: input)
            #expect(result.status == 0, "kubectl \(arguments): \(result.stderr)")
            return result.stdout
        }
        func columns(_ line: Substring) -> [String] {
            line.split(separator: "  ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let table = try await kubectl(["get", "sp"]).split(separator: "\n")
        #expect(
            columns(table[0]) == [
                "NAME", "TARGET", "MIN", "MAX", "REPLICAS", "LOAD/TARGET", "FORECAST", "MODE", "READY", "AGE",
            ])
        let row = columns(table[1])
        #expect(row.count == 10, "\(row)")
        if row.count == 10 {
            #expect(row[0] == "web" && row[1] == "Simulated/web" && row[2] == "2" && row[3] == "12", "\(row)")
            #expect(row[4].wholeMatch(of: /\d+\/\d+/) != nil, "replicas current/desired: \(row[4])")
            #expect(row[5].wholeMatch(of: /\d+%\/60%/) != nil, "utilisation/target: \(row[5])")
            #expect(row[6].wholeMatch(of: /\d+% in 10m \(p80\)/) != nil, "forecast with horizon: \(row[6])")
            #expect(row[7] == "Predictive" && row[8] == "True", "\(row)")
        }
        let wide = try await kubectl(["get", "sp", "-o", "wide"]).split(separator: "\n")
        #expect(columns(wide[0]).suffix(2) == ["MODEL", "LAST ACTION"], "\(wide[0])")
        #expect(wide[1].contains("→"), "the last action: \(wide[1])")

        let describe = try await kubectl(["describe", "sp", "web"])
        #expect(describe.contains("Events:") && describe.contains("ScaledUp"))
        #expect(describe.contains("Baseline:") && describe.contains("seasonal_naive"), "the baseline is named")
        #expect(describe.wholeMatch(of: /(?s).*MAE:\s+\d+\.\d{4,}\n.*/) == nil, "MAEs are rounded")

        let explain = try await kubectl(["explain", "sp.spec.behavior"])
        #expect(explain.contains("scaleUp") && explain.contains("scaleDown"), "\(explain)")
        let pending = try await kubectl(["explain", "sp.status.pendingAction"])
        #expect(pending.contains("FIELDS:") && pending.contains("id\t<string>"), "\(pending)")

        let mistake = """
            apiVersion: forescale.io/v1alpha1
            kind: ScalingPolicy
            metadata: {name: backwards}
            spec:
              target: {kind: Simulated, name: backwards, simulation: {}}
              minCapacity: 20
              maxCapacity: 5
            """
        let refused = try await world.cluster.kubectl(["apply", "-f", "-"], input: mistake)
        #expect(refused.status != 0 && refused.stderr.contains("minCapacity must not exceed maxCapacity"), "\(refused)")

        let events = try await kubectl(["get", "events", "--sort-by=.lastTimestamp"])
        #expect(events.contains("ScaledUp") && events.contains("scalingpolicy/web"), "\(events)")
        let counted = try await kubectl([
            "get", "events", "-o",
            "custom-columns=REASON:.reason,COUNT:.count,FIRST:.firstTimestamp,LAST:.lastTimestamp",
            "--no-headers",
        ])
        for line in counted.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields.count == 4 && !fields.contains("<none>") && (Int(fields[1]) ?? 0) >= 1, "\(line)")
        }
    }
}

/// Two replicas with leader election: only the lease holder reconciles; when it shuts down
/// gracefully (releasing the lease) the other takes over.
@Suite struct ControllerReplicaTests {
    @Test func onlyTheLeaderActsAndTheOtherTakesOver() async throws {
        let world = try await ControllerTests.World()
        defer { world.stop() }
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Reactive", modelURL: nil, calendar: nil))
        func replica(_ identity: String) -> (Controller, Task<Void, Never>) {
            var configuration = Controller.Configuration(namespace: "default")
            configuration.speed = 3000  // requeue every 0.1 s
            let controller = Controller(
                client: world.client, configuration: configuration,
                targets: TargetRegistry(
                    client: world.client, anchor: world.anchor, fileRoots: world.fileRoots,
                    access: .readingModels(under: world.fileRoots)),
                models: ModelRegistry(fileRoots: world.fileRoots), now: { world.clock.value })
            var election = LeaderElector.Configuration(identity: identity)
            // Long enough that a loaded test machine never misses a renewal: the handover
            // under test is the graceful release, which does not wait for the lease to run out.
            election.leaseDuration = .seconds(20)
            election.renewDeadline = .seconds(15)
            election.retryPeriod = .milliseconds(100)
            let elector = LeaderElector(
                lock: KubernetesLeaseLock(client: world.client, namespace: "default", name: "forescale-controller"),
                configuration: election, clock: ContinuousClock())
            return (controller, Task { await elector.run { await controller.run() } })
        }
        // Far beyond a quiet machine's need (a second); the full suite on two cores has taken 30 s for ten passes.
        func waitUntil(_ condition: () -> Bool) async throws {
            _ = try await eventually(within: .seconds(120), every: .milliseconds(20)) { condition() }
        }
        let (first, firstTask) = replica("replica-a")
        try await waitUntil { first.metrics.reconcileCount > 0 }
        let (second, secondTask) = replica("replica-b")
        try await waitUntil { first.metrics.reconcileCount > 10 }
        #expect(first.metrics.reconcileCount > 10, "the leader reconciles")
        #expect(second.metrics.reconcileCount == 0, "the follower never acts")
        firstTask.cancel()
        await firstTask.value
        let stoppedAt = first.metrics.reconcileCount
        try await waitUntil { second.metrics.reconcileCount > 0 }
        #expect(second.metrics.reconcileCount > 0, "the follower took over after the release")
        #expect(first.metrics.reconcileCount == stoppedAt)
        secondTask.cancel()
        await secondTask.value
    }
}

/// A metrics source that never has a datapoint (an exporter that stopped).
struct NoMetrics: MetricsSource {
    func loadHistory(until now: Date, steps: Int) async throws -> [LoadSample] { [] }
}

/// The controller (embedded API server, informer-less stepping, status round trips through
/// the API) and the backtest replay the same trace to the same capacities at the same
/// moments: they share `Step.run`, and nothing else decides.
@Suite struct ControllerMatchesBacktestTests {
    @Test func aDayOfTheSeedTraceGivesTheSameActions() async throws {
        let world = try await ControllerTests.World()
        defer { world.stop() }
        let manifest = SeedScenario.policy(
            name: "web", mode: "Predictive", modelURL: world.modelURL, calendar: "shop-calendar")
        let created = try await world.client.create(.scalingPolicies, namespace: "default", manifest)
        let controller = world.controller()
        // The backtest decides one second after each sample; so does the controller here.
        world.clock.withLock { $0 = $0.addingTimeInterval(1) }
        let steps = 288
        for _ in 0..<steps { try await world.step(controller, ["web"]) }
        let simulated = try #require(world.targets.simulated("default/web"))
        let controllerActions = simulated.changeLog.map {
            (offset: $0.time.timeIntervalSince(simulated.start), capacity: $0.capacity)
        }

        let trace = try TraceLibrary.trace("seed", loadScale: SeedScenario.loadScale)
        let events = BusinessCalendar.events(
            timestamps: trace.table.timestamps, flags: trace.table.columns["is_sale_active"]!, step: trace.step,
            prefix: "sale-day",
            multiplier: SeedScenario.saleMultiplier)
        let forecaster = Forecaster(
            try ModelArtefact.load(path: Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path))
        var options = Backtest.Options(startIndex: SeedScenario.startOffsetSteps)
        options.initialCapacity = 2
        let spec = try PolicySpec.parse(created["spec"]).get()
        let replay = await Backtest.run(
            name: "predictive", policy: spec, trace: trace, forecaster: forecaster, events: events, options: options)
        let end = Double(SeedScenario.startOffsetSteps + steps) * trace.step
        let backtestActions = replay.actions.map {
            (offset: $0.time.timeIntervalSince(trace.start), capacity: $0.capacity)
        }.filter { $0.offset < end }

        #expect(controllerActions.count >= 5, "a day with a sale in it scales: \(controllerActions.count) actions")
        #expect(controllerActions.map(\.capacity) == backtestActions.map(\.capacity))
        #expect(controllerActions.map(\.offset) == backtestActions.map(\.offset))
    }
}
