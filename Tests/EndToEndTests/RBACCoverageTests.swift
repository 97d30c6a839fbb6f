import APIServer
import Autoscaler
import Foundation
import KubeClient
import KubeCore
import Simulation
import TestSupport
import Testing
import Transport

/// The RBAC rules in deploy/ cover every request the controller (with leader election) and
/// the trainer actually make — checked against the embedded server's record of requests.
@Suite struct RBACCoverageTests {
    struct Call: Hashable {
        var group: String, resource: String, verb: String
        init(_ access: ResourceAccess) {
            group = access.group
            resource = access.resource
            verb = access.verb
        }
    }

    struct Rule {
        var groups: [String], resources: [String], verbs: [String]
        func allows(_ access: Call) -> Bool {
            groups.contains(access.group) && resources.contains(access.resource) && verbs.contains(access.verb)
        }
    }

    static func rules(_ file: String, roles: Set<String>) throws -> [Rule] {
        let text = String(decoding: try Data(contentsOf: Fixtures.root.appendingPathComponent(file)), as: UTF8.self)
        return try YAML.parseDocuments(text).filter {
            ["ClusterRole", "Role"].contains($0["kind"]?.stringValue ?? "")
                && roles.contains($0.value(at: ["metadata", "name"])?.stringValue ?? "")
        }
        .flatMap { $0["rules"]?.arrayValue ?? [] }
        .map {
            Rule(
                groups: ($0["apiGroups"]?.arrayValue ?? []).compactMap(\.stringValue),
                resources: ($0["resources"]?.arrayValue ?? []).compactMap(\.stringValue),
                verbs: ($0["verbs"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
    }

    @Test func deployRBACCoversTheControllerAndTheTrainer() async throws {
        let records = Locked<[ResourceAccess]>([])
        let cluster = try EmbeddedCluster(observer: { access in records.withLock { $0.append(access) } })
        defer { cluster.stop() }
        let admin = try cluster.kubeClient(fieldManager: "test-setup")
        defer { admin.shutdown() }
        try await cluster.installScalingPolicyCRD(admin)
        let anchor = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try await admin.create(
            .configMaps, namespace: "default", try SeedScenario.calendarConfigMap(anchor: anchor))
        try await cluster.createFixtureDeployment(admin)
        let model = cluster.directory.file("models/default/web/model.fsm")
        try FileManager.default.createDirectory(
            atPath: cluster.directory.file("models/default/web"), withIntermediateDirectories: true)
        let rules = cluster.directory.file("access-rules.yaml")
        try Data("artefactStore: file://\(cluster.directory.path)/models/\n".utf8).write(
            to: URL(fileURLWithPath: rules))
        try Data(contentsOf: Fixtures.root.appendingPathComponent("Models/seed-load.fsm")).write(
            to: URL(fileURLWithPath: model))
        var policy = SeedScenario.policy(
            name: "web", mode: "Predictive", modelURL: "file://" + model, calendar: "shop-calendar")
        policy.setValue("Deployment", at: ["spec", "target", "kind"])
        _ = try await admin.create(.scalingPolicies, namespace: "default", policy)
        records.withLock { $0.removeAll() }

        // The controller as deployed: leader election, informer, reconciles, Events.
        let client = try cluster.kubeClient(fieldManager: "forescale-controller")
        defer { client.shutdown() }
        // Into the sale: it scales.
        let virtualNow = try SeedScenario.virtualStart(anchor: anchor).start.addingTimeInterval(4 * 3600)
        var configuration = Controller.Configuration(namespace: nil)
        configuration.speed = 3000
        let roots = FileRoots([cluster.directory.path])
        let controller = Controller(
            client: client, configuration: configuration,
            targets: TargetRegistry(
                client: client, anchor: anchor, fileRoots: roots, access: .readingModels(under: roots)),
            models: ModelRegistry(fileRoots: roots), now: { virtualNow })
        let elector = LeaderElector(
            lock: KubernetesLeaseLock(client: client, namespace: "forescale-system", name: "forescale-controller"),
            configuration: .init(identity: "rbac-test"), clock: ContinuousClock())
        _ = try await admin.create(.namespaces, namespace: nil, ["metadata": ["name": "forescale-system"]])
        records.withLock { $0.removeAll() }
        let running = Task { await elector.run { await controller.run() } }
        _ = try await eventually(every: .milliseconds(50)) { controller.metrics.reconcileCount >= 3 }
        // The dashboard's reads are the controller's too.
        let endpoint = try ControllerEndpoint.start(controller: controller, address: "127.0.0.1", port: 0)
        let http = HTTPClient()
        for path in ["/api/v1/policies", "/api/v1/policies/default/web/history"] {
            #expect(try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(endpoint.port)\(path)")).status == 200)
        }
        http.shutdown()
        endpoint.shutdown()
        running.cancel()
        await running.value
        let controllerCalls = Set(records.withLock { $0 }.map(Call.init))
        #expect(
            controllerCalls.contains { $0.resource == "deployments/scale" && $0.verb == "patch" },
            "the controller scaled the Deployment")
        #expect(controllerCalls.contains { $0.resource == "leases" })
        let controllerRules = try Self.rules(
            "deploy/base/rbac.yaml", roles: ["forescale-controller", "forescale-leader-election"])
        for call in controllerCalls {
            #expect(
                controllerRules.contains { $0.allows(call) },
                "controller call not allowed by deploy/base/rbac.yaml: \(call.verb) \(call.group)/\(call.resource)")
        }
        // The single-namespace overlay grants the same in its namespace (leases stay with the base's Role).
        let namespacedRules =
            try Self.rules("deploy/overlays/single-namespace/role.yaml", roles: ["forescale-controller"])
            + Self.rules("deploy/base/rbac.yaml", roles: ["forescale-leader-election"])
        for call in controllerCalls {
            #expect(
                namespacedRules.contains { $0.allows(call) },
                "controller call not allowed by the single-namespace overlay: \(call.verb) \(call.group)/\(call.resource)"
            )
        }

        // The trainer as the CronJob runs it.
        records.withLock { $0.removeAll() }
        let result = try await ForescaleBinary.run([
            "trainer", "--all", "--kubeconfig", cluster.kubeconfigPath, "--now", Timestamps.format(virtualNow),
            "--history-days", "2", "--epochs", "2", "--hidden", "8", "--model-root", cluster.directory.path,
            "--access-rules", rules,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let trainerCalls = Set(records.withLock { $0 }.map(Call.init))
        #expect(trainerCalls.contains { $0.resource == "scalingpolicies/status" })
        let trainerRules = try Self.rules("deploy/base/trainer.yaml", roles: ["forescale-trainer"])
        let trainerNamespacedRules = try Self.rules(
            "deploy/overlays/single-namespace/role.yaml", roles: ["forescale-trainer"])
        for call in trainerCalls {
            #expect(
                trainerRules.contains { $0.allows(call) },
                "trainer call not allowed by deploy/base/trainer.yaml: \(call.verb) \(call.group)/\(call.resource)")
            #expect(
                trainerNamespacedRules.contains { $0.allows(call) },
                "trainer call not allowed by the single-namespace overlay: \(call.verb) \(call.group)/\(call.resource)")
        }
    }
}
