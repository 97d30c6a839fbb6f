import Autoscaler
import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import TestSupport
import Testing

/// The exact requests one reconcile makes, against a scripted API server that fails on
/// anything unexpected: first sight, steady state, a scale-up, a calendar, an invalid spec,
/// a missing target, a deleted policy.
@Suite struct ReconcileScenarioTests {
    static let statusPath = "/apis/forescale.io/v1alpha1/namespaces/default/scalingpolicies/web/status"
    static let eventsPath = "/apis/events.k8s.io/v1/namespaces/default/events"
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A world of one simulated policy on a constant-load trace (CSV in a temporary folder).
    final class World: Sendable {
        let server: ScriptedAPIServer
        let client: KubernetesClient
        let directory: TemporaryDirectory
        let targets: TargetRegistry
        let controller: Controller
        let clock: Locked<Date>
        let logs = LogLines()

        init(load: Double, logFormat: Logger.Format = .json) throws {
            server = try ScriptedAPIServer()
            client = server.client()
            directory = try TemporaryDirectory()
            let rows = (0..<200).map {
                "\(Timestamps.format(ReconcileScenarioTests.start.addingTimeInterval(Double($0 - 100) * 300))),\(load)"
            }
            try ("timestamp,load\n" + rows.joined(separator: "\n") + "\n").write(
                toFile: directory.file("trace.csv"), atomically: true, encoding: .utf8)
            let roots = FileRoots([directory.path])
            // The anchor lands step `startOffsetSteps` (100) exactly on `start`.
            targets = TargetRegistry(
                client: client, anchor: ReconcileScenarioTests.start, fileRoots: roots,
                access: .readingModels(under: roots))
            let clock = Locked(ReconcileScenarioTests.start)
            self.clock = clock
            controller = Controller(
                client: client, configuration: .init(namespace: "default"), targets: targets,
                models: ModelRegistry(fileRoots: roots),
                clock: ContinuousClock(), now: { clock.value },
                log: Logger(format: logFormat, now: { clock.value }, sink: logs.sink))
        }

        func policy(_ spec: JSONValue = [:], deleting: Bool = false) -> JSONValue {
            var base: JSONValue = [
                "target": [
                    "kind": "Simulated", "name": "web",
                    "simulation": [
                        "trace": .string(directory.file("trace.csv")), "loadScale": 1,
                        "initialCapacity": 2, "warmupSeconds": 300, "startOffsetSteps": 100,
                    ],
                ],
                "minCapacity": 1, "maxCapacity": 10, "mode": "Reactive", "targetUtilization": 60,
            ]
            base = applyMergePatch(spec, to: base)
            var object: JSONValue = [
                "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy",
                "metadata": ["name": "web", "namespace": "default", "uid": "u-1", "generation": 1], "spec": base,
            ]
            if deleting { object.setValue("2026-12-01T00:00:00Z", at: ["metadata", "deletionTimestamp"]) }
            return object
        }

        /// One reconcile, its Events flushed; then the script must have been used up, exactly.
        func reconcile(_ object: JSONValue, expecting script: [ScriptedAPIServer.Exchange]) async throws
            -> ReconcileOutcome
        {
            server.expect(script)
            let outcome: ReconcileOutcome
            do {
                outcome = try await controller.reconcile(policy: object)
            } catch {
                Issue.record("\(error); unexpected requests: \(server.failures)")
                throw error
            }
            await controller.flushEvents()
            #expect(server.failures.isEmpty, "\(server.failures)")
            #expect(server.unused.isEmpty, "expected but not requested: \(server.unused)")
            return outcome
        }

        func stop() {
            client.shutdown()
            server.stop()
            directory.remove()
        }
    }

    static func status(_ body: JSONValue?) -> JSONValue { body?["status"] ?? .null }
    static func condition(_ body: JSONValue?, _ type: String) -> JSONValue? {
        status(body)["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }
    }

    @Test func firstSightWritesStatusOnceAndASteadyPassWritesNothing() async throws {
        let world = try World(load: 120)  // 120 % of one instance at 60 %: 2 instances, as it has
        defer { world.stop() }
        let outcome = try await world.reconcile(
            world.policy(),
            expecting: [
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        let status = Self.status(body)
                        if status["observedGeneration"] != 1 {
                            return "observedGeneration: \(String(describing: status["observedGeneration"]))"
                        }
                        if status["desiredCapacity"] != 2 || status["currentCapacity"] != 2 {
                            return "capacities: \(status)"
                        }
                        if Self.condition(body, "Ready")?["status"] != "True" {
                            return "Ready: \(String(describing: Self.condition(body, "Ready")))"
                        }
                        if Self.condition(body, "ModelReady") != nil {
                            return "a Reactive policy has no ModelReady condition"
                        }
                        if status["pendingAction"] != nil { return "nothing to act on" }
                        return nil
                    })
            ])
        guard case .requeue(let after) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(after >= .seconds(300) && after <= .seconds(330), "one step, jittered by at most 10 %")

        // Three hours on, nothing changed: no request at all (past the hourly refresh of the
        // observation fields, which writes only when what they show moved).
        for _ in 0..<36 {
            world.clock.withLock { $0 = $0.addingTimeInterval(300) }
            _ = try await world.reconcile(world.policy(), expecting: [])
        }
    }

    @Test func scaleUpRecordsTheIntentThenConfirmsItAndEmitsOneEvent() async throws {
        // 290 saturates at 200 on its 2 instances (a monitor sees at most 100 % each): 200 / 60 % → 4.
        let world = try World(load: 290)
        defer { world.stop() }
        _ = try await world.reconcile(
            world.policy(),
            expecting: [
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        let pending = Self.status(body)["pendingAction"]
                        return pending?["from"] == 2 && pending?["to"] == 4 && pending?["reason"] == "LoadAboveTarget"
                            ? nil : "the intent first: \(String(describing: pending))"
                    }),
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        let status = Self.status(body)
                        if status["pendingAction"] != .null { return "pendingAction must be cleared: \(status)" }
                        if status["lastAction"]?["to"] != 4 || status["lastScaleUpTime"] == nil {
                            return "lastAction and cooldown: \(status)"
                        }
                        return nil
                    }),
                .init(
                    "POST", Self.eventsPath, status: 201,
                    check: { body in
                        body?["reason"] == "ScaledUp" && body?["type"] == "Normal"
                            && (body?["note"]?.stringValue ?? "").contains("capacity 2 -> 4")
                            ? nil : "event: \(String(describing: body))"
                    }),
            ])
        #expect(world.targets.simulated("default/web")?.changeLog.map(\.capacity) == [4])
    }

    @Test func aCalendarIsReadEveryPass() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        let events = #"[{"name":"sale","start":"2027-01-01T00:00:00Z","end":"2027-01-02T00:00:00Z","multiplier":2}]"#
        _ = try await world.reconcile(
            world.policy(["calendar": ["configMapRef": ["name": "shop-calendar"]]]),
            expecting: [
                .init(
                    "GET", "/api/v1/namespaces/default/configmaps/shop-calendar",
                    response: { _ in
                        [
                            "apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": [
                                "name": "shop-calendar", "namespace": "default",
                                "labels": ["forescale.io/calendar": "true"],
                            ],
                            "data": ["events.json": .string(events)],
                        ]
                    }),
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in Self.condition(body, "Ready")?["status"] == "True" ? nil : "Ready" }),
            ])
    }

    @Test func anInvalidSpecIsOneConditionAndOneEventThenQuiet() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        let invalid = world.policy(["minCapacity": 20, "maxCapacity": 5])
        let outcome = try await world.reconcile(
            invalid,
            expecting: [
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        let ready = Self.condition(body, "Ready")
                        return ready?["status"] == "False" && ready?["reason"] == "InvalidSpec"
                            && (ready?["message"]?.stringValue ?? "").contains("spec.maxCapacity")
                            ? nil : "\(String(describing: ready))"
                    }),
                .init(
                    "POST", Self.eventsPath, status: 201,
                    check: { body in
                        body?["reason"] == "InvalidSpec" && body?["type"] == "Warning"
                            ? nil : "\(String(describing: body))"
                    }),
            ])
        #expect(outcome == .awaitChange, "terminal: no retry loop")
        _ = try await world.reconcile(invalid, expecting: [])
    }

    @Test func aMissingTargetIsVisibleAndLookedAtAgainNextStep() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        var policy = world.policy()
        policy.setValue("Deployment", at: ["spec", "target", "kind"])
        let outcome = try await world.reconcile(
            policy,
            expecting: [
                .init(
                    "GET", "/apis/apps/v1/namespaces/default/deployments/web", status: 404,
                    response: { _ in ScriptedAPIServer.notFound("deployments.apps \"web\" not found") }),
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        let ready = Self.condition(body, "Ready")
                        return ready?["status"] == "False" && ready?["reason"] == "TargetUnavailable"
                            ? nil : "\(String(describing: ready))"
                    }),
                .init(
                    "POST", Self.eventsPath, status: 201,
                    check: { body in body?["reason"] == "TargetUnavailable" ? nil : "\(String(describing: body))" }),
            ])
        guard case .requeue(let after) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(after <= .seconds(330), "polled at the step, not after an exponential backoff")
    }

    @Test func aDeletedPolicyMakesNoRequestsAndLeavesNothingBehind() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        _ = try await world.reconcile(world.policy(), expecting: [.init("PATCH", Self.statusPath)])
        #expect(world.targets.boundPolicies == ["default/web"])
        _ = try await world.reconcile(world.policy(deleting: true), expecting: [])
        world.server.expect([])
        #expect(try await world.controller.reconcile("default/web") == .awaitChange, "gone from the cache")
        #expect(world.server.failures.isEmpty, "\(world.server.failures)")
        #expect(world.targets.boundPolicies.isEmpty, "the binding was pruned")
        #expect(world.controller.history.samples("default/web").isEmpty)
    }

    /// One structured line per action and per failed reconcile, with policy, reason and duration.
    @Test(arguments: [Logger.Format.json, .text])
    func actionsAndFailuresAreLoggedOnce(_ format: Logger.Format) async throws {
        let world = try World(load: 290, logFormat: format)
        defer { world.stop() }
        world.server.expect([
            .init("PATCH", Self.statusPath), .init("PATCH", Self.statusPath),
            .init("POST", Self.eventsPath, status: 201),
        ])
        _ = try await world.controller.reconcile(policy: world.policy())
        await world.controller.flushEvents()
        var invalid = world.policy(["maxCapacity": .number(1e300)])
        invalid.setValue("bad", at: ["metadata", "name"])
        world.server.expect([
            .init("PATCH", "/apis/forescale.io/v1alpha1/namespaces/default/scalingpolicies/bad/status"),
            .init("POST", Self.eventsPath, status: 201),
        ])
        _ = try await world.controller.reconcile(policy: invalid)
        await world.controller.flushEvents()
        #expect(world.server.failures.isEmpty, "\(world.server.failures)")
        let lines = world.logs.all
        #expect(lines.count == 2, "\(lines)")
        switch format {
        case .json:
            let records = try lines.map { try JSONValue(parsing: Data($0.utf8)) }
            #expect(
                records[0]["msg"] == "scaled" && records[0]["policy"] == "default/web"
                    && records[0]["reason"] == "LoadAboveTarget" && records[0]["to"] == "4")
            #expect(
                records[1]["msg"] == "reconcile failed" && records[1]["policy"] == "default/bad"
                    && records[1]["reason"] == "InvalidSpec")
            #expect(
                records.allSatisfy {
                    $0["duration"]?.stringValue.flatMap(Double.init) != nil
                        && $0["ts"]?.stringValue?.hasPrefix("2027-01-15T08:00:00") == true
                })
        case .text:
            #expect(
                lines[0].contains(" info scaled ") && lines[0].contains("policy=default/web")
                    && lines[0].contains("reason=LoadAboveTarget"))
            #expect(
                lines[1].contains(" error reconcile failed ") && lines[1].contains("policy=default/bad")
                    && lines[1].contains("reason=InvalidSpec") && lines[1].contains("duration="))
        }
    }
}
