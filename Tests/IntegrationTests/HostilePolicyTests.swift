import Autoscaler
import Digest
import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import TestSupport
import Testing

/// One controller, many tenants: hostile or mistaken specs, calendars and model artefacts
/// beside a good policy. Each bad one ends as Ready=False (or ModelReady=False) with a
/// reason and a message naming the problem, one Warning Event and one log line; the good
/// policy keeps reconciling and the controller keeps running. The cluster runs an old,
/// permissive CRD (spec: any fields), as a real cluster may: the controller checks anyway.
@Suite struct HostilePolicyTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        /// Merged into a good Simulated spec.
        var spec: JSONValue
        var condition = "Ready"
        var reason: String
        var message: String
        var description: String { name }
    }

    static func permissiveCRD() throws -> JSONValue {
        var crd = try YAML.parse(
            String(contentsOf: Fixtures.root.appendingPathComponent("crds/scalingpolicy.yaml"), encoding: .utf8))
        var versions = crd.value(at: ["spec", "versions"])?.arrayValue ?? []
        versions[0].setValue(
            ["type": "object", "x-kubernetes-preserve-unknown-fields": true],
            at: ["schema", "openAPIV3Schema", "properties", "spec"])
        crd.setValue(.array(versions), at: ["spec", "versions"])
        return crd
    }

    /// A model file with one hostile change and a valid checksum (unless `breakChecksum`).
    static func writeModel(_ path: String, breakChecksum: Bool = false, _ change: (inout ModelArtefact) -> Void) throws
    {
        var artefact = try ModelArtefact.load(path: Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path)
        change(&artefact)
        var data = try artefact.encoded()
        if breakChecksum { data[data.count - 1] ^= 0xFF }
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test func badPoliciesAreConditionsAndTheGoodOneKeepsGoing() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient(fieldManager: "forescale-controller")
        defer { client.shutdown() }
        _ = try await client.create(.customResourceDefinitions, namespace: nil, try Self.permissiveCRD())
        try await Task.sleep(for: .milliseconds(100))
        let anchor = Date(timeIntervalSince1970: 1_800_000_000)
        let start = try SeedScenario.virtualStart(anchor: anchor).start
        let dir = cluster.directory
        let goodModel = Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path

        // Hostile model files (inside the allowed root) and calendars.
        let models: [(String, Bool, @Sendable (inout ModelArtefact) -> Void)] = [
            ("count.fsm", true, { $0.header.parameterCount = 1 << 62 }),
            ("hidden.fsm", false, { $0.header.network.hiddenSize = 1 << 40 }),
            ("layers.fsm", false, { $0.header.network.layers = 0 }),
            ("horizon.fsm", false, { $0.header.network.horizon = -1 }),
            ("scaler.fsm", false, { $0.header.scaler.minimum = [1] }),
            ("sequence.fsm", false, { $0.header.sequenceLength = -1 }),
            ("step.fsm", false, { $0.header.stepSeconds = 1e308 }),
            ("input.fsm", false, { $0.header.network.inputSize = -2 }),
            ("nan.fsm", false, { $0.parameters[3] = .nan }),
        ]
        for (name, breakChecksum, change) in models {
            try Self.writeModel(dir.file(name), breakChecksum: breakChecksum, change)
        }
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: dir.file("text.fsm")))
        try FileManager.default.createDirectory(atPath: dir.file("folder.fsm"), withIntermediateDirectories: true)
        let calendars: [String: String] = [
            "huge-multiplier":
                #"[{"name":"sale","start":"2027-01-15T09:00:00Z","end":"2027-01-16T00:00:00Z","multiplier":1e300}]"#,
            "negative-multiplier":
                #"[{"name":"sale","start":"2027-01-15T09:00:00Z","end":"2027-01-16T00:00:00Z","multiplier":-2}]"#,
            "year-99999": #"[{"name":"sale","start":"99999-01-01T00:00:00Z","end":"99999-01-02T00:00:00Z"}]"#,
            "backwards": #"[{"name":"sale","start":"2027-01-16T00:00:00Z","end":"2027-01-15T00:00:00Z"}]"#,
            "not-json": "{{{{",
            "deep": String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000),
            "many": "["
                + (0..<20_000).map { _ in #"{"name":"e","start":"2027-01-15T09:00:00Z","end":"2027-01-16T00:00:00Z"}"# }
                .joined(separator: ",") + "]",
            "not-a-list": #"{"name":"sale"}"#,
            "no-name": #"[{"name":"","start":"2027-01-15T09:00:00Z","end":"2027-01-16T00:00:00Z"}]"#,
        ]
        let calendarLabel: JSONValue = ["forescale.io/calendar": "true"]
        for (name, events) in calendars {
            _ = try await client.create(
                .configMaps, namespace: "default",
                [
                    "metadata": ["name": .string(name), "labels": calendarLabel],
                    "data": ["events.json": .string(events)],
                ])
        }
        _ = try await client.create(
            .configMaps, namespace: "default",
            ["metadata": ["name": "other-key", "labels": calendarLabel], "data": ["x": "[]"]])
        // A ConfigMap its owner did not offer as a calendar: not parsed, nothing of it in status.
        _ = try await client.create(
            .configMaps, namespace: "default",
            ["metadata": ["name": "private"], "data": ["events.json": "password=hunter2"]])

        func model(_ file: String) -> JSONValue {
            ["model": ["artefact": .string("file://" + dir.file(file))], "mode": "Predictive"]
        }
        func calendar(_ name: String) -> JSONValue { ["calendar": ["configMapRef": ["name": .string(name)]]] }
        let cases: [Case] =
            [
                Case(
                    name: "max-huge", spec: ["maxCapacity": .number(1e23)], reason: "InvalidSpec",
                    message: "spec.maxCapacity"),
                Case(
                    name: "max-int64", spec: ["maxCapacity": .integer(Int64.max)], reason: "InvalidSpec",
                    message: "spec.maxCapacity"),
                Case(
                    name: "step-1e300", spec: ["metrics": ["stepSeconds": .number(1e300)]], reason: "InvalidSpec",
                    message: "spec.metrics.stepSeconds"),
                Case(
                    name: "lead-1e9", spec: ["forecast": ["leadTimeSeconds": 1_000_000_000]], reason: "InvalidSpec",
                    message: "spec.forecast.leadTimeSeconds"),
                Case(
                    name: "stale-negative", spec: ["metrics": ["staleAfterSeconds": -5]], reason: "InvalidSpec",
                    message: "spec.metrics.staleAfterSeconds"),
                Case(
                    name: "window-1e15",
                    spec: ["behavior": ["scaleDown": ["stabilizationWindowSeconds": .number(1e15)]]],
                    reason: "InvalidSpec",
                    message: "stabilizationWindowSeconds"),
                Case(
                    name: "age-1e20", spec: ["model": ["maxAgeSeconds": .number(1e20)]], reason: "InvalidSpec",
                    message: "spec.model.maxAgeSeconds"),
                Case(
                    name: "initial-1e19", spec: ["target": ["simulation": ["initialCapacity": .number(1e19)]]],
                    reason: "InvalidSpec",
                    message: "initialCapacity"),
                Case(
                    name: "scale-1e300", spec: ["target": ["simulation": ["loadScale": .number(1e300)]]],
                    reason: "InvalidSpec", message: "loadScale"),
                Case(
                    name: "offset-huge", spec: ["target": ["simulation": ["startOffsetSteps": .integer(Int64.max)]]],
                    reason: "InvalidSpec",
                    message: "startOffsetSteps"),
                Case(
                    name: "min-over-max", spec: ["minCapacity": 20, "maxCapacity": 5], reason: "InvalidSpec",
                    message: "spec.maxCapacity"),
                Case(name: "mode-bogus", spec: ["mode": "Psychic"], reason: "InvalidSpec", message: "spec.mode"),
                Case(
                    name: "kind-bogus", spec: ["target": ["kind": "Pod"]], reason: "InvalidSpec",
                    message: "spec.target.kind"),
                Case(
                    name: "name-10k", spec: ["target": ["name": .string(String(repeating: "x", count: 10_000))]],
                    reason: "InvalidSpec",
                    message: "spec.target.name"),
                Case(
                    name: "spec-string", spec: ["target": "everything"], reason: "InvalidSpec", message: "spec.target"),
                Case(
                    name: "dimensions-numbers", spec: ["metrics": ["cloudwatch": ["dimensions": ["a": 1]]]],
                    reason: "InvalidSpec", message: "dimensions"),
                Case(
                    name: "asg-without-aws",
                    spec: [
                        "target": ["kind": "AutoScalingGroup", "name": "asg", "region": "us-east-1", "simulation": nil]
                    ],
                    reason: "AccessDenied", message: "namespaces.default.autoScalingGroups"),
                Case(
                    name: "missing-deployment", spec: ["target": ["kind": "Deployment", "name": "ghost"]],
                    reason: "TargetUnavailable", message: "ghost"),
                Case(
                    name: "trace-etc-passwd", spec: ["target": ["simulation": ["trace": "/etc/passwd"]]],
                    reason: "TargetUnavailable",
                    message: "not found under an allowed root"),
                Case(
                    name: "trace-missing", spec: ["target": ["simulation": ["trace": .string(dir.file("nope.csv"))]]],
                    reason: "TargetUnavailable",
                    message: "not found under an allowed root"),
                Case(
                    name: "model-etc-shadow", spec: model("../../../../etc/shadow"), reason: "AccessDenied",
                    message: "without empty, . or .. segments"),
                Case(
                    name: "model-absent", spec: model("absent.fsm"), condition: "ModelReady", reason: "ModelMissing",
                    message: "not found under an allowed root"),
                Case(
                    name: "model-count-2-62", spec: model("count.fsm"), condition: "ModelReady", reason: "ModelCorrupt",
                    message: "checksum"),
                Case(
                    name: "model-hidden-2-40", spec: model("hidden.fsm"), condition: "ModelReady",
                    reason: "ModelCorrupt", message: "network.hiddenSize"),
                Case(
                    name: "model-layers-0", spec: model("layers.fsm"), condition: "ModelReady", reason: "ModelCorrupt",
                    message: "network.layers"),
                Case(
                    name: "model-horizon", spec: model("horizon.fsm"), condition: "ModelReady", reason: "ModelCorrupt",
                    message: "network.horizon"),
                Case(
                    name: "model-scaler", spec: model("scaler.fsm"), condition: "ModelReady", reason: "ModelCorrupt",
                    message: "scaler"),
                Case(
                    name: "model-sequence", spec: model("sequence.fsm"), condition: "ModelReady",
                    reason: "ModelCorrupt", message: "sequenceLength"),
                Case(
                    name: "model-step", spec: model("step.fsm"), condition: "ModelReady", reason: "ModelCorrupt",
                    message: "stepSeconds"),
                Case(
                    name: "model-input", spec: model("input.fsm"), condition: "ModelReady", reason: "ModelCorrupt",
                    message: "network.inputSize"),
                Case(
                    name: "model-nan", spec: model("nan.fsm"), condition: "ModelReady", reason: "ModelCorrupt",
                    message: "finite"),
                Case(
                    name: "model-text", spec: model("text.fsm"), condition: "ModelReady", reason: "ModelCorrupt",
                    message: "not a Forescale model"),
                Case(
                    name: "model-folder", spec: model("folder.fsm"), condition: "ModelReady", reason: "ModelMissing",
                    message: "not found"),
                Case(
                    name: "model-http", spec: ["model": ["artefact": "http://example.com/m.fsm"]],
                    reason: "InvalidSpec", message: "spec.model.artefact"),
            ]
            + calendars.keys.sorted().map { name in
                Case(name: "calendar-\(name)", spec: calendar(name), reason: "CalendarUnreadable", message: "calendar")
            } + [
                Case(
                    name: "calendar-missing", spec: calendar("absent"), reason: "CalendarUnreadable", message: "absent"),
                Case(
                    name: "calendar-unlabelled", spec: calendar("private"), reason: "CalendarUnreadable",
                    message: "is not labelled forescale.io/calendar=true"),
                Case(
                    name: "calendar-other-key", spec: calendar("other-key"), reason: "CalendarUnreadable",
                    message: "has no key events.json"),
            ]
        #expect(cases.count >= 45)

        let good = SeedScenario.policy(name: "good", mode: "Predictive", modelURL: "file://" + goodModel, calendar: nil)
        _ = try await client.create(.scalingPolicies, namespace: "default", good)
        for test in cases {
            var policy = SeedScenario.policy(name: test.name, mode: "Reactive", modelURL: nil, calendar: nil)
            policy["spec"] = applyMergePatch(test.spec, to: policy["spec"] ?? [:])
            _ = try await client.create(.scalingPolicies, namespace: "default", policy)
        }

        // The controller as it runs: informer, queue, two workers; virtual time at 300× so a
        // step passes every second.
        let logs = LogLines()
        let clockStart = ContinuousClock.now
        var configuration = Controller.Configuration(namespace: "default")
        configuration.speed = 300
        let roots = FileRoots([Fixtures.root.appendingPathComponent("Models").path, dir.path])
        let controller = Controller(
            client: client, configuration: configuration,
            targets: TargetRegistry(
                client: client, anchor: anchor, fileRoots: roots, access: .readingModels(under: roots)),
            models: ModelRegistry(fileRoots: roots), clock: ContinuousClock(),
            now: { start.addingTimeInterval((ContinuousClock.now - clockStart).seconds * 300) },
            log: Logger(format: .json, sink: logs.sink))
        let running = Task { await controller.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        var goodPasses = 0
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            let policies = try await client.list(.scalingPolicies, namespace: "default").items
            let settled = policies.allSatisfy { $0.value(at: ["status", "observedGeneration"]) != nil }
            goodPasses = controller.history.samples("default/good").count
            if settled && goodPasses >= 4 { break }
        }
        running.cancel()
        await running.value

        #expect(goodPasses >= 4, "the good policy kept reconciling: \(goodPasses) passes")
        let goodStatus = try await client.get(.scalingPolicies, namespace: "default", name: "good")
        #expect(Self.condition(goodStatus, "Ready")?["status"] == "True")
        #expect(Self.condition(goodStatus, "ModelReady")?["status"] == "True")
        let events = try await client.list(.coreEvents, namespace: "default").items
        let lines = logs.all.compactMap { try? JSONValue(parsing: Data($0.utf8)) }
        for test in cases {
            let policy = try await client.get(.scalingPolicies, namespace: "default", name: test.name)
            let condition = Self.condition(policy, test.condition)
            #expect(
                condition?["status"] == "False", "\(test.name): \(test.condition) is \(String(describing: condition))")
            #expect(condition?["reason"]?.stringValue == test.reason, "\(test.name): \(String(describing: condition))")
            #expect(
                condition?["message"]?.stringValue?.contains(test.message) == true,
                "\(test.name): \(String(describing: condition?["message"]))")
            let warnings = events.filter {
                $0.value(at: ["involvedObject", "name"])?.stringValue == test.name && $0["type"] == "Warning"
            }
            #expect(
                warnings.count == 1,
                "\(test.name): \(warnings.count) Warning Events (one problem, one aggregated Event)")
            if test.condition == "Ready" {
                #expect(
                    lines.contains {
                        $0["policy"]?.stringValue == "default/\(test.name)" && $0["reason"]?.stringValue == test.reason
                    },
                    "\(test.name): a log line")
            }
        }
        // The controller is alive: it still answers a reconcile of the good policy.
        #expect(try await controller.reconcile("default/good") != .awaitChange)
    }

    static func condition(_ policy: JSONValue, _ type: String) -> JSONValue? {
        policy.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"]?.stringValue == type }
    }
}
