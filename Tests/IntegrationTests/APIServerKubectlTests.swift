import Foundation
import KubeCore
import TestSupport
import Testing

/// The embedded API server driven by the real kubectl (1.32, chosen by our /version).
@Suite(.serialized) struct APIServerKubectlTests {
    static let hasKubectl: Bool = {
        let available = Subprocess.isAvailable("kubectl")
        if !available { print("skipping kubectl tests: kubectl is not installed on this machine") }
        return available
    }()

    func ok(_ result: CommandResult, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation)
        -> String
    {
        #expect(result.status == 0, "kubectl failed: \(result.stderr)", sourceLocation: sourceLocation)
        return result.stdout
    }

    @Test(.enabled(if: hasKubectl)) func applyServerSideApplyGetAndWatch() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let version = ok(try await cluster.kubectl(["version"]))
        #expect(version.contains("Server Version: v1.32"))

        #expect(
            ok(try await cluster.kubectl(["apply", "-f", Fixtures.path("kube/crd.yaml")])).contains(
                "customresourcedefinition.apiextensions.k8s.io/widgets.test.forescale.io created"))
        let resources = ok(try await cluster.kubectl(["api-resources"]))
        #expect(resources.contains("widgets") && resources.contains("test.forescale.io/v1") && resources.contains("wd"))

        #expect(
            ok(try await cluster.kubectl(["apply", "-f", Fixtures.path("kube/widget.yaml")])).contains(
                "widget.test.forescale.io/alpha created"))
        let table = ok(try await cluster.kubectl(["get", "wd"]))
        #expect(table.contains("REPLICAS") && table.contains("MODE"))
        #expect(
            table.split(separator: "\n").last?.split(separator: " ", omittingEmptySubsequences: true).prefix(3) == [
                "alpha", "2", "Active",
            ])

        #expect(
            ok(try await cluster.kubectl(["apply", "-f", Fixtures.path("kube/widget-v2.yaml")])).contains(
                "widget.test.forescale.io/alpha configured"))
        let afterReapply = try JSONValue(
            parsing: Data(ok(try await cluster.kubectl(["get", "wd", "alpha", "-o", "json"])).utf8))
        #expect(afterReapply.value(at: ["spec", "replicas"]) == 3)
        #expect(afterReapply.value(at: ["spec", "mode"]) == "ForecastOnly")
        #expect(
            afterReapply.value(at: ["spec", "target"]) == nil, "the 3-way merge removed a field dropped from the file")
        #expect(afterReapply.value(at: ["metadata", "generation"]) == 2)

        #expect(
            ok(try await cluster.kubectl(["apply", "--server-side", "-f", Fixtures.path("kube/widget.yaml")])).contains(
                "serverside-applied"))
        let afterSSA = try JSONValue(
            parsing: Data(
                ok(try await cluster.kubectl(["get", "wd", "alpha", "-o", "json", "--show-managed-fields"])).utf8))
        #expect(afterSSA.value(at: ["spec", "replicas"]) == 2)
        let managers =
            afterSSA.value(at: ["metadata", "managedFields"])?.arrayValue?.compactMap { $0["manager"]?.stringValue }
            ?? []
        #expect(managers.contains("kubectl"))

        let yaml = ok(try await cluster.kubectl(["get", "wd", "alpha", "-o", "yaml"]))
        #expect(yaml.contains("kind: Widget") && yaml.contains("replicas: 2") && yaml.contains("resourceVersion:"))
        let all = ok(try await cluster.kubectl(["get", "wd", "-A"]))
        #expect(all.contains("NAMESPACE") && all.contains("default") && all.contains("alpha"))

        // get -w: the list, then the change made while it watches — and nothing twice.
        let watch = try cluster.kubectlInBackground(["get", "wd", "-w"])
        func alphaRows(_ output: String) -> [Substring] {
            output.split(separator: "\n").filter { $0.hasPrefix("alpha") }
        }
        _ = try await watch.waitForStdout { !alphaRows($0).isEmpty }
        _ = ok(try await cluster.kubectl(["patch", "wd", "alpha", "--type=merge", "-p", #"{"spec":{"replicas":9}}"#]))
        _ = try await watch.waitForStdout { alphaRows($0).count >= 2 }
        // Anything sent twice would come at once, with the change.
        try await Task.sleep(for: .milliseconds(500))
        let watchOutput = await watch.terminate().stdout
        let rows = alphaRows(watchOutput)
        #expect(rows.count == 2, "initial row and one change: \(watchOutput)")
        #expect(rows.last?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "9")
    }

    @Test(.enabled(if: hasKubectl)) func configMapsStatusScaleDescribeAndEvents() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        _ = ok(try await cluster.kubectl(["apply", "-f", Fixtures.path("kube/crd.yaml")]))
        _ = ok(try await cluster.kubectl(["apply", "-f", Fixtures.path("kube/widget.yaml")]))

        // kubectl create configmap sends protobuf.
        #expect(
            ok(
                try await cluster.kubectl([
                    "create", "configmap", "calendar", "--from-literal=black-friday=2026-11-27",
                    "--from-literal=cyber-monday=2026-11-30",
                ])
            ).contains("configmap/calendar created"))
        let configMap = try JSONValue(
            parsing: Data(ok(try await cluster.kubectl(["get", "cm", "calendar", "-o", "json"])).utf8))
        #expect(configMap["data"] == ["black-friday": "2026-11-27", "cyber-monday": "2026-11-30"])
        #expect(configMap.value(at: ["metadata", "generateName"]) == nil)
        #expect(ok(try await cluster.kubectl(["get", "cm"])).contains("DATA"))

        _ = ok(
            try await cluster.kubectl([
                "patch", "wd", "alpha", "--subresource=status", "--type=merge", "-p",
                #"{"status":{"replicas":2,"conditions":[{"type":"Ready","status":"True","reason":"Observed"}]}}"#,
            ]))
        let row = ok(try await cluster.kubectl(["get", "wd", "alpha", "--no-headers"])).split(
            separator: " ", omittingEmptySubsequences: true)
        #expect(row.prefix(4) == ["alpha", "2", "Active", "True"])

        _ = ok(try await cluster.kubectl(["apply", "-f", Fixtures.path("kube/deployment.yaml")]))
        #expect(
            ok(try await cluster.kubectl(["scale", "deployment", "web", "--replicas=4"])).contains(
                "deployment.apps/web scaled"))
        #expect(ok(try await cluster.kubectl(["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])) == "4")
        #expect(ok(try await cluster.kubectl(["scale", "wd", "alpha", "--replicas=6"])).contains("scaled"))
        #expect(ok(try await cluster.kubectl(["get", "wd", "alpha", "-o", "jsonpath={.spec.replicas}"])) == "6")

        // An events.k8s.io/v1 Event about the widget shows in describe and get events (core/v1 view).
        let widget = try await cluster.request("GET", "/apis/test.forescale.io/v1/namespaces/default/widgets/alpha")
            .json
        let event: JSONValue = [
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": ["name": "alpha.scaled", "namespace": "default"],
            "eventTime": .string(Timestamps.formatMicro(Date())), "reportingController": "forescale.io/controller",
            "reportingInstance": "controller-0", "action": "Scale", "reason": "ScaledUp", "type": "Normal",
            "note": "capacity 2 -> 6 ahead of forecast load",
            "regarding": [
                "apiVersion": "test.forescale.io/v1", "kind": "Widget", "name": "alpha", "namespace": "default",
                "uid": widget.value(at: ["metadata", "uid"]) ?? "",
            ],
        ]
        #expect(
            try await cluster.request("POST", "/apis/events.k8s.io/v1/namespaces/default/events", body: event).status
                == 201)
        let describe = ok(try await cluster.kubectl(["describe", "wd", "alpha"]))
        #expect(
            describe.contains("Events:") && describe.contains("ScaledUp")
                && describe.contains("capacity 2 -> 6 ahead of forecast load"))
        let events = ok(try await cluster.kubectl(["get", "events"]))
        #expect(events.contains("ScaledUp") && events.contains("widget/alpha"))
    }

    @Test(.enabled(if: hasKubectl)) func deleteWaitsForFinalizers() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        _ = ok(try await cluster.kubectl(["apply", "-f", Fixtures.path("kube/crd.yaml")]))
        _ = ok(try await cluster.kubectl(["apply", "-f", Fixtures.path("kube/widget.yaml")]))
        _ = ok(
            try await cluster.kubectl([
                "patch", "wd", "alpha", "--type=merge", "-p",
                #"{"metadata":{"finalizers":["test.forescale.io/cleanup"]}}"#,
            ]))

        // kubectl delete waits (list + watch from the list's resourceVersion) until DELETED.
        async let deletion = cluster.kubectl(["delete", "wd", "alpha", "--timeout=120s"])
        // The object stays, marked for deletion, once kubectl's DELETE has arrived.
        #expect(
            try await eventually(every: .milliseconds(250)) {
                let pending = try JSONValue(
                    parsing: Data(ok(try await cluster.kubectl(["get", "wd", "alpha", "-o", "json"])).utf8))
                return pending.value(at: ["metadata", "deletionTimestamp"]) != nil
            })
        _ = ok(
            try await cluster.kubectl([
                "patch", "wd", "alpha", "--type=json", "-p", #"[{"op":"remove","path":"/metadata/finalizers"}]"#,
            ]))
        let deleted = try await deletion
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stdout.contains("\"alpha\" deleted"))
        let gone = try await cluster.kubectl(["get", "wd", "alpha"])
        #expect(gone.status != 0 && gone.stderr.contains("NotFound"))
    }

    @Test(.enabled(if: hasKubectl)) func deployManifestsRenderAndApply() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let deploy = Fixtures.root.appendingPathComponent("deploy").path
        let rendered = try await cluster.kubectl(["kustomize", deploy])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let kinds = rendered.stdout.split(separator: "\n").filter { $0.hasPrefix("kind: ") }.map {
            String($0.dropFirst(6))
        }
        #expect(
            Set(kinds) == [
                "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                "RoleBinding", "Service", "Deployment",
                "PodDisruptionBudget", "NetworkPolicy", "CronJob", "ConfigMap",
            ])
        let applied = try await cluster.kubectl(["apply", "-k", deploy])
        #expect(applied.status == 0, "\(applied.stderr)")
        // As on a real cluster, a server-side dry run needs the namespace to exist already.
        let dryRun = try await cluster.kubectl(["apply", "-k", deploy, "--dry-run=server"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        let deployment = try await cluster.request(
            "GET", "/apis/apps/v1/namespaces/forescale-system/deployments/forescale-controller"
        ).json
        #expect(deployment.value(at: ["spec", "replicas"]) == 2)
        let container = deployment.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first
        // Bare names: an installation's overlay names its registry (README "Install on a cluster", InstallTests).
        #expect(container?["image"] == "forescale-controller")
        #expect(container?.value(at: ["securityContext", "readOnlyRootFilesystem"]) == true)
        for name in ["forescale-controller", "forescale-trainer"] {
            let role = try await cluster.request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/\(name)").json
            let rules = role["rules"]?.arrayValue ?? []
            #expect(!rules.isEmpty)
            let words: [JSONValue] = rules.flatMap { rule -> [JSONValue] in
                let verbs: [JSONValue] = rule["verbs"]?.arrayValue ?? []
                let resources: [JSONValue] = rule["resources"]?.arrayValue ?? []
                return verbs + resources
            }
            #expect(!words.contains("*"), "least privilege: no wildcards in \(name)")
        }
        let policy = try await cluster.request(
            "GET", "/apis/networking.k8s.io/v1/namespaces/forescale-system/networkpolicies/forescale-controller"
        ).json
        #expect(policy.value(at: ["spec", "policyTypes"]) == ["Ingress", "Egress"])
        let cronJob = try await cluster.request(
            "GET", "/apis/batch/v1/namespaces/forescale-system/cronjobs/forescale-retrain"
        ).json
        #expect(cronJob.value(at: ["spec", "concurrencyPolicy"]) == "Forbid")
        #expect(
            cronJob.value(at: ["spec", "jobTemplate", "spec", "template", "spec", "containers"])?.arrayValue?.first?[
                "image"] == "forescale-trainer")
    }

    /// The single-namespace overlay: Roles in the watched namespace instead of ClusterRoles,
    /// both processes told to watch only it; it renders and applies like the base.
    @Test(.enabled(if: hasKubectl)) func singleNamespaceOverlayUsesRolesOnly() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let overlay = Fixtures.root.appendingPathComponent("deploy/overlays/single-namespace").path
        let rendered = try await cluster.kubectl(["kustomize", overlay])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let documents = try YAML.parseDocuments(rendered.stdout)
        #expect(!documents.contains { $0["kind"] == "ClusterRole" || $0["kind"] == "ClusterRoleBinding" })
        let roles = documents.filter { $0["kind"] == "Role" && $0.value(at: ["metadata", "namespace"]) == "shop" }
            .compactMap { $0.value(at: ["metadata", "name"])?.stringValue }
        #expect(Set(roles) == ["forescale-controller", "forescale-trainer"])
        let deployment = try #require(documents.first { $0["kind"] == "Deployment" })
        #expect(
            deployment.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["args"]?.arrayValue?
                .contains("--namespace=shop") == true)
        _ = try await cluster.request("POST", "/api/v1/namespaces", body: ["metadata": ["name": "shop"]])
        let applied = try await cluster.kubectl(["apply", "-k", overlay])
        #expect(applied.status == 0, "\(applied.stderr)")
        let role = try await cluster.request(
            "GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles/forescale-controller"
        ).json
        #expect(role["rules"]?.arrayValue?.contains { $0["resources"] == ["deployments/scale"] } == true)
    }
}
