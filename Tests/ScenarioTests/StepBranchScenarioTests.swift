import Autoscaler
import Foundation
import KubeCore
import PolicyEngine
import TestSupport
import Testing

/// The branches of a pass the controller reaches, each as the exact requests it makes against a scripted API
/// server: a refused action, a pending action found applied or not, a missing or corrupt model, an unreadable
/// calendar, missing metrics, a policy the access rules refuse, and a limit that held.
@Suite struct StepBranchScenarioTests {
    typealias World = ReconcileScenarioTests.World
    static let statusPath = ReconcileScenarioTests.statusPath
    static let eventsPath = ReconcileScenarioTests.eventsPath
    static let scalePath = "/apis/apps/v1/namespaces/default/deployments/web/scale"

    static func condition(_ body: JSONValue?, _ type: String) -> JSONValue? {
        ReconcileScenarioTests.condition(body, type)
    }

    /// `type` has `status` and `reason`, or what it has instead.
    static func expect(_ body: JSONValue?, _ type: String, _ status: String, _ reason: String) -> String? {
        let condition = condition(body, type)
        return condition?["status"]?.stringValue == status && condition?["reason"]?.stringValue == reason
            ? nil : "\(type): \(String(describing: condition))"
    }

    static func event(_ type: String, _ reason: String, noting text: String = "") -> ScriptedAPIServer.Exchange {
        .init(
            "POST", eventsPath, status: 201,
            check: { body in
                body?["type"]?.stringValue == type && body?["reason"]?.stringValue == reason
                    && (text.isEmpty || (body?["note"]?.stringValue ?? "").contains(text))
                    ? nil : "event: \(String(describing: body))"
            })
    }

    static let deploymentPath = "/apis/apps/v1/namespaces/default/deployments/web"

    /// A Deployment at `replicas`, all ready (its load replayed from the trace beside it): the controller reads the
    /// Deployment for its ready replicas and sets capacity through `/scale`.
    static func scale(_ replicas: Int) -> ScriptedAPIServer.Exchange {
        .init(
            "GET", deploymentPath,
            response: { _ in
                [
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": ["name": "web", "namespace": "default", "resourceVersion": "7"],
                    "spec": ["replicas": .integer(Int64(replicas))],
                    "status": ["replicas": .integer(Int64(replicas)), "readyReplicas": .integer(Int64(replicas))],
                ]
            })
    }

    /// A status whose last pass recorded 2 → 4 five minutes ago and did not confirm it.
    static let pendingTo4: JSONValue = [
        "pendingAction": [
            "id": "u-1-g1-1799999700-4", "from": 2, "to": 4, "reason": "LoadAboveTarget",
            "time": "2027-01-15T07:55:00Z",
        ]
    ]

    static func deploymentPolicy(_ world: World, status: JSONValue? = nil) -> JSONValue {
        var policy = world.policy()
        policy.setValue("Deployment", at: ["spec", "target", "kind"])
        if let status { policy["status"] = status }
        return policy
    }

    @Test func aRefusedScaleKeepsTheIntentSaysWhyAndStartsNoCooldown() async throws {
        let world = try World(load: 290)
        defer { world.stop() }
        _ = try await world.reconcile(
            Self.deploymentPolicy(world),
            expecting: [
                Self.scale(2),
                .init(
                    "PATCH", Self.statusPath,
                    check: {
                        Self.status($0)["pendingAction"]?["to"] == 4 ? nil : "the intent first: \(Self.status($0))"
                    }),
                .init(
                    "PATCH", Self.scalePath, status: 422,
                    check: {
                        $0?.value(at: ["spec", "replicas"]) == 4 ? nil : "scale body: \(String(describing: $0))"
                    },
                    response: { _ in
                        [
                            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
                            "message": "admission webhook \"quota.example\" denied the request: replicas over quota",
                        ]
                    }),
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        if let wrong = Self.expect(body, "Ready", "False", "ScalingFailed") { return wrong }
                        let message = Self.condition(body, "Ready")?["message"]?.stringValue ?? ""
                        if !message.contains("setting capacity 4") || !message.contains("over quota") {
                            return "the message says what was refused and why: \(message)"
                        }
                        return Self.status(body)["lastScaleUpTime"] == nil ? nil : "no cooldown for a refused action"
                    }),
                Self.event("Warning", "ScalingFailed", noting: "over quota"),
            ])
    }

    @Test func aPendingActionTheTargetShowsIsConfirmedOnce() async throws {
        let world = try World(load: 290)
        defer { world.stop() }
        // A controller crashed between setting 4 and confirming it: the target is at 4.
        _ = try await world.reconcile(
            Self.deploymentPolicy(world, status: Self.pendingTo4),
            expecting: [
                Self.scale(4),
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        let status = Self.status(body)
                        return status["pendingAction"] == .null && status["lastAction"]?["to"] == 4
                            && status["lastScaleUpTime"]?.stringValue == "2027-01-15T07:55:00Z"
                            ? nil : "confirmed with the action's own time: \(status)"
                    }),
                Self.event("Normal", "ScaledUp", noting: "capacity 2 -> 4"),
            ])
    }

    @Test func aPendingActionTheTargetDoesNotShowIsDroppedAndDecidedAfresh() async throws {
        let world = try World(load: 290)
        defer { world.stop() }
        // The earlier set never landed (the target is still at 2): no cooldown, the need is decided again.
        _ = try await world.reconcile(
            Self.deploymentPolicy(world, status: Self.pendingTo4),
            expecting: [
                Self.scale(2),
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        let id = Self.status(body)["pendingAction"]?["id"]?.stringValue ?? ""
                        return id.hasPrefix("u-1-g1-") && id != "u-1-g1-1799999700-4"
                            ? nil : "a new intent, with its own id: \(id)"
                    }),
                .init("PATCH", Self.scalePath),
                .init(
                    "PATCH", Self.statusPath,
                    check: { Self.status($0)["lastAction"]?["to"] == 4 ? nil : "confirmed: \(Self.status($0))" }),
                Self.event("Normal", "ScaledUp"),
            ])
    }

    @Test func aMissingModelFallsBackToReactiveWithOneWarning() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        let missing = "file://" + world.directory.file("models/web.fsm")
        _ = try await world.reconcile(
            world.policy(["mode": "Predictive", "model": ["artefact": .string(missing)]]),
            expecting: [
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        Self.expect(body, "Ready", "True", "Reconciled")
                            ?? Self.expect(body, "ModelReady", "False", "ModelMissing")
                            ?? Self.expect(body, "Fallback", "True", "ModelMissing")
                            ?? (Self.status(body)["mode"] == "Reactive" ? nil : "decided by: \(Self.status(body))")
                    }),
                Self.event("Warning", "ModelMissing", noting: "falling back to Reactive"),
            ])
    }

    @Test func aCorruptModelIsNotReadyAndSaidOnce() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        try FileManager.default.createDirectory(
            atPath: world.directory.file("models"), withIntermediateDirectories: true)
        try Data("FSM2 but not a model".utf8).write(to: URL(fileURLWithPath: world.directory.file("models/web.fsm")))
        let policy = world.policy([
            "mode": "Predictive", "model": ["artefact": .string("file://" + world.directory.file("models/web.fsm"))],
        ])
        _ = try await world.reconcile(
            policy,
            expecting: [
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        Self.expect(body, "Ready", "False", "ModelCorrupt")
                            ?? Self.expect(body, "Fallback", "True", "ModelCorrupt")
                    }),
                Self.event("Warning", "ModelCorrupt"),
            ])
        world.clock.withLock { $0 = $0.addingTimeInterval(300) }
        _ = try await world.reconcile(policy, expecting: [])
    }

    @Test func anUnreadableCalendarIsNotReadyUntilItIsFixed() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        _ = try await world.reconcile(
            world.policy(["calendar": ["configMapRef": ["name": "shop-calendar"]]]),
            expecting: [
                .init(
                    "GET", "/api/v1/namespaces/default/configmaps/shop-calendar", status: 404,
                    response: { _ in ScriptedAPIServer.notFound("configmaps \"shop-calendar\" not found") }),
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        Self.expect(body, "Ready", "False", "CalendarUnreadable")
                            ?? ((Self.condition(body, "Ready")?["message"]?.stringValue ?? "").contains("shop-calendar")
                                ? nil : "the message names the ConfigMap")
                    }),
                Self.event("Warning", "CalendarUnreadable", noting: "Ready is False: calendar ConfigMap shop-calendar"),
            ])
    }

    @Test func missingMetricsSuspendScaleInAndSaySo() async throws {
        // 30 % of one instance on 4: Reactive would go to 1, but the replayed trace starts 100 steps before `start`
        // and the clock is before that: no datapoint at all.
        let world = try World(load: 30)
        defer { world.stop() }
        world.clock.withLock { $0 = $0.addingTimeInterval(-150 * 300) }
        _ = try await world.reconcile(
            Self.deploymentPolicy(world),
            expecting: [
                Self.scale(4),
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        Self.expect(body, "MetricsAvailable", "False", "NoMetrics")
                            ?? (Self.status(body)["desiredCapacity"] == 4 ? nil : "no scale-in: \(Self.status(body))")
                    }),
                Self.event("Warning", "NoMetrics", noting: "MetricsAvailable is False: no datapoint newer than 900 s"),
            ])
    }

    @Test func aTargetTheAccessRulesRefuseIsNeverCalled() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        let outcome = try await world.reconcile(
            world.policy(["target": ["kind": "AutoScalingGroup", "name": "payments-prod", "region": "us-east-1"]]),
            expecting: [
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        Self.expect(body, "Ready", "False", "AccessDenied")
                            ?? ((Self.condition(body, "Ready")?["message"]?.stringValue ?? "").contains("payments-prod")
                                ? nil : "the message names the group")
                    }),
                Self.event("Warning", "AccessDenied"),
            ])
        guard case .requeue = outcome else {
            Issue.record("a rule may be added meanwhile: looked at again, got \(outcome)")
            return
        }
    }

    @Test func aLimitThatHeldIsAConditionNotAnEvent() async throws {
        // 290 saturates at 200 on 2: 4 wanted, maxCapacity 3 holds it.
        let world = try World(load: 290)
        defer { world.stop() }
        _ = try await world.reconcile(
            world.policy(["maxCapacity": 3]),
            expecting: [
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        Self.expect(body, "ScalingLimited", "True", "MaxCapacity")
                            ?? (Self.status(body)["pendingAction"]?["to"] == 3 ? nil : "to the bound")
                    }),
                .init("PATCH", Self.statusPath),
                Self.event("Normal", "ScaledUp", noting: "capacity 2 -> 3"),
            ])
    }

    /// Between steps a pass is a fast check (a replayed trace has nothing newer: no request at all), but a new
    /// generation of the spec is decided whole at once.
    @Test func aSpecChangeBetweenStepsIsDecidedAtOnce() async throws {
        let world = try World(load: 120)
        defer { world.stop() }
        _ = try await world.reconcile(world.policy(), expecting: [.init("PATCH", Self.statusPath)])
        world.clock.withLock { $0 = $0.addingTimeInterval(60) }
        _ = try await world.reconcile(world.policy(), expecting: [])
        var raised = world.policy(["minCapacity": 5])
        raised.setValue(2, at: ["metadata", "generation"])
        world.clock.withLock { $0 = $0.addingTimeInterval(60) }
        _ = try await world.reconcile(
            raised,
            expecting: [
                .init(
                    "PATCH", Self.statusPath,
                    check: { body in
                        let status = Self.status(body)
                        return status["observedGeneration"] == 2 && status["pendingAction"]?["to"] == 5
                            ? nil : "generation 2 decided: \(status)"
                    }),
                .init("PATCH", Self.statusPath),
                Self.event("Normal", "ScaledUp", noting: "capacity 2 -> 5"),
            ])
    }

    static func status(_ body: JSONValue?) -> JSONValue { ReconcileScenarioTests.status(body) }
}
