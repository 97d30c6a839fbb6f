import Foundation
import KubeCore
import TestSupport
import Testing

/// The local path with a plain model root, end to end on three series the model has not seen: each NAB trace's
/// last 14 days in a real Prometheus, the product trainer (`forescale-trainer --model-root DIR`) trains every policy
/// on what came before its last day and promotes into DIR where its gate allows, and the product controller
/// (`--model-root DIR`) runs the three policies on the held-out day: Ready, deciding on the forecast with the
/// trainer's model loaded (Predictive), the present load exactly the series' value, and the
/// Deployment scaled to what the decision asked.
@Suite(.serialized) struct HeldOutSeriesTests {
    static let series = [
        "ec2_cpu_utilization_24ae8d", "ec2_cpu_utilization_5f5533", "rds_cpu_utilization_cc0c53",
    ]

    /// A built product executable, the release one (`make image-binaries`) first: the trainer trains faster there.
    static func product(_ name: String) -> String? {
        let release = Fixtures.root.appendingPathComponent(".build/release/\(name)").path
        return FileManager.default.isExecutableFile(atPath: release) ? release : Fixtures.executable(name)
    }

    @Test func threeHeldOutSeriesRunEndToEndWithAPlainModelRoot() async throws {
        guard let trainer = Self.product("forescale-trainer"), let controller = Self.product("forescale-controller")
        else { throw ForescaleBinary.NotBuilt() }
        // Each trace's last 14 days as `load{series="…"}`, on the 5-minute grid, the newest point the grid's latest.
        let now = Int(Date().timeIntervalSince1970) / 300 * 300
        var lines = ["# TYPE load gauge"]
        var latest: [String: Double] = [:]
        for name in Self.series {
            let values = try Fixtures.traceValues(name)
            lines += Fixtures.openMetricsSamples(values, series: #"load{series="\#(name)"}"#, end: now)
            latest[name] = values.last
        }
        let prometheus = try await PrometheusPeer(openMetrics: lines.joined(separator: "\n"))
        defer { Task { await prometheus.remove() } }

        let (cluster, client) = try await EmbeddedCluster.withScalingPolicies()
        defer {
            client.shutdown()
            cluster.stop()
        }
        let root = cluster.directory.file("models")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let rules = cluster.directory.file("access-rules.yaml")
        try Data("artefactStore: file://\(root)/\nnamespaces: {default: {prometheus: [default]}}\n".utf8).write(
            to: URL(fileURLWithPath: rules))
        for (index, name) in Self.series.enumerated() {
            let deployment = try await cluster.createFixtureDeployment(client, replicas: 1, name: "app\(index)")
            // Ten times the CPU series: a load that needs several replicas at 60 %.
            _ = try await client.create(
                .scalingPolicies, namespace: "default",
                [
                    "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy",
                    "metadata": ["name": .string("p\(index)")],
                    "spec": [
                        "target": ["kind": "Deployment", "name": .string(deployment)], "mode": "Predictive",
                        "minCapacity": 1, "maxCapacity": 40, "targetUtilization": 60,
                        "model": ["artefact": .string("file://\(root)/default/p\(index)/model.fsm")],
                        "metrics": [
                            "source": "prometheus", "prometheus": ["query": .string(#"10 * load{series="\#(name)"}"#)],
                        ],
                    ],
                ])
        }
        let common = [
            "--kubeconfig", cluster.kubeconfigPath, "--model-root", root, "--prometheus-url", prometheus.url,
            "--access-rules", rules,
        ]
        // The last day is held out: the trainer reads only what came before it.
        let heldOut = Date(timeIntervalSince1970: Double(now - 86_400))
        let trained = try await Subprocess.run(
            trainer,
            ["--all", "--namespace", "default", "--now", Timestamps.format(heldOut), "--history-days", "12"]
                + ["--epochs", "6", "--hidden", "16", "--margin", "0"] + common)
        #expect(trained.status == 0, "\(trained.stdout)\(trained.stderr)")
        // Every policy gets a model: what its selection chose, or seasonal naive where that did not beat seasonal
        // naive on the holdout (reason ServesSeasonalNaive).
        var versions: [String: String] = [:]
        var verdicts: [String] = []
        for index in Self.series.indices {
            let training = try await client.get(.scalingPolicies, namespace: "default", name: "p\(index)")[
                "status"]?["training"]
            #expect(training?["reason"]?.stringValue?.isEmpty == false, "p\(index): \(String(describing: training))")
            if training?["promoted"] == true { versions["p\(index)"] = training?["challengerVersion"]?.stringValue }
            verdicts.append(
                "p\(index) \(Self.series[index]): \(training?["promoted"] == true ? "promoted" : "rejected") "
                    + "(\(training?["challengerServes"]?.stringValue ?? "?"): \(training?["message"]?.stringValue ?? "?"))"
            )
        }
        print("held-out series, the gate's verdicts:\n  " + verdicts.joined(separator: "\n  "))
        #expect(versions.count == Self.series.count, "every policy's model promoted: \(verdicts)")

        let running = try BackgroundProcess(
            controller, ["--leader-elect", "false", "--metrics-port", "0", "--no-dashboard"] + common)
        defer { Task { _ = await running.kill9() } }
        for (index, name) in Self.series.enumerated() {
            let policy = "p\(index)"
            var status: JSONValue?
            let settled = try await eventually(within: .seconds(60), every: .milliseconds(250)) {
                status = try await client.get(.scalingPolicies, namespace: "default", name: policy)["status"]
                guard let desired = status?["desiredCapacity"]?.intValue, status?["currentLoad"] != nil else {
                    return false
                }
                return try await client.scale(.deployments, namespace: "default", name: "app\(index)").specReplicas
                    == desired
            }
            let described = String(describing: status)
            #expect(settled, "\(policy): \(described)")
            let conditions = status?["conditions"]?.arrayValue ?? []
            let ready = conditions.first { $0["type"] == "Ready" }
            let model = conditions.first { $0["type"] == "ModelReady" }
            #expect(ready?["status"] == "True", "\(policy): \(described)")
            let version = versions[policy] ?? "(none promoted)"
            #expect(status?["mode"] == "Predictive", "\(policy) decides on the forecast: \(described)")
            #expect(
                model?["status"] == "True" && model?["message"]?.stringValue?.contains(version) == true,
                "\(policy) loaded the trainer's model \(version): \(described)")
            let expected = ((latest[name] ?? 0) * 10 * 100).rounded() / 100
            #expect(status?["currentLoad"]?.doubleValue == expected, "\(policy): the load exact: \(described)")
            // A first scale-up moves at most scaleUp.maxStep (4) above the 1 replica it found.
            #expect(
                (status?["desiredCapacity"]?.intValue ?? 0) >= min(5, Int((expected / 60).rounded(.up))),
                "\(policy) has what the present load needs, within one step's limit: \(described)")
        }
    }
}
