import Autoscaler
import Cloud
import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import TestSupport
import Testing
import Transport

/// Against the real Prometheus (Debian's 2.42): range queries in chunks, its errors, a
/// Deployment scaled end to end from a live series, Prometheus stopping and returning, a bad
/// query on the policy's condition.
@Suite(.serialized) struct PrometheusTests {
    /// ec2_cpu_utilization_825cc2 (NAB, 5-minute steps, 14 days) as `shop_cpu{group="web"}`,
    /// and a covariate `shop_requests{group="web"}` that leads it by one step, ending `end`.
    static func backfill(end: Date) throws -> (openMetrics: String, rows: Int) {
        let table = try TimeSeriesTable.load(
            path: Fixtures.root.appendingPathComponent("examples/data/ec2_cpu_utilization_825cc2.csv").path)
        let values = table.columns["value"]!
        let rows = min(values.count, 14 * 288)
        var lines = ["# TYPE shop_cpu gauge"]
        let first = end.addingTimeInterval(-Double(rows - 1) * 300)
        for index in 0..<rows {
            lines.append(
                "shop_cpu{group=\"web\"} \(values[values.count - rows + index]) \(Int(first.timeIntervalSince1970) + index * 300)"
            )
        }
        lines.append("# TYPE shop_requests gauge")
        for index in 0..<rows {
            let next = values[min(values.count - 1, values.count - rows + index + 1)]
            lines.append("shop_requests{group=\"web\"} \(next * 10) \(Int(first.timeIntervalSince1970) + index * 300)")
        }
        return (lines.joined(separator: "\n"), rows)
    }

    static let end = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 300).rounded(.down) * 300 - 86_400 * 3)

    @Test func rangeQueriesComeInChunksAndErrorsAreTyped() async throws {
        let (text, _) = try Self.backfill(end: Self.end)
        let prometheus = try await PrometheusPeer(openMetrics: text)
        defer { Task { await prometheus.remove() } }
        let client = HTTPClient()
        defer { client.shutdown() }
        let api = try PrometheusAPI(client: client, configuration: .init(url: prometheus.url))
        // 14 days every minute: 20,161 points, more than Prometheus answers in one query.
        let start = Self.end.addingTimeInterval(-14 * 86_400)
        let series = try await api.queryRange(#"shop_cpu{group="web"}"#, start: start, end: Self.end, step: 60)
        #expect(series.count == 1)
        let times = series.first?.points.map(\.time) ?? []
        #expect(times.count > 11_000, "\(times.count) points: several chunks, merged")
        #expect(
            zip(times, times.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 60 },
            "one point per step, no duplicates at chunk edges")
        // Two series of one name, and an aggregate in PromQL.
        let both = try await api.queryRange(
            #"{group="web"}"#, start: Self.end.addingTimeInterval(-3600), end: Self.end, step: 300)
        #expect(both.count == 2)

        await #expect {
            try await api.queryRange("sum(rate(shop_cpu[5m]", start: start, end: Self.end, step: 300)
        } throws: { error in
            guard case .badQuery(let message) = error as? PrometheusError else { return false }
            return message.contains("parse error")
        }
        let closed = try PrometheusAPI(client: client, configuration: .init(url: "http://127.0.0.1:1"))
        await #expect { try await closed.queryRange("up", start: start, end: Self.end, step: 300) } throws: { error in
            if case .unreachable = error as? PrometheusError { return true }
            return false
        }
    }

    /// The trainer reads 14 days of load and a covariate from Prometheus and trains on them.
    @Test func theTrainerTrainsOnPrometheusHistory() async throws {
        let (text, rows) = try Self.backfill(end: Self.end)
        let prometheus = try await PrometheusPeer(openMetrics: text)
        defer { Task { await prometheus.remove() } }
        let (cluster, client) = try await EmbeddedCluster.withScalingPolicies()
        defer {
            client.shutdown()
            cluster.stop()
        }
        let model = cluster.directory.file("models/default/shop/model.fsm")
        let rules = cluster.directory.file("access-rules.yaml")
        try Data(
            """
            artefactStore: file://\(cluster.directory.path)/models/
            namespaces: {default: {prometheus: [default]}}
            """.utf8
        ).write(to: URL(fileURLWithPath: rules))
        _ = try await client.create(
            .scalingPolicies, namespace: "default",
            [
                "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "metadata": ["name": "shop"],
                "spec": [
                    "target": ["kind": "Deployment", "name": "shop"], "mode": "Predictive",
                    "model": ["artefact": .string("file://" + model)],
                    "forecast": ["horizonSteps": 3],
                    "metrics": [
                        "source": "prometheus", "prometheus": ["query": #"shop_cpu{group="web"}"#],
                        "inputs": [["name": "requests", "query": #"shop_requests{group="web"}"#]],
                    ],
                ],
            ])
        let result = try await ForescaleBinary.run([
            "trainer", "--policy", "default/shop", "--kubeconfig", cluster.kubeconfigPath, "--now",
            Timestamps.format(Self.end.addingTimeInterval(1)),
            "--history-days", "14", "--epochs", "4", "--hidden", "16", "--model-root", cluster.directory.path,
            "--prometheus-url", prometheus.url, "--access-rules", rules,
        ])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let status = try await client.get(.scalingPolicies, namespace: "default", name: "shop")
        #expect(
            status.value(at: ["status", "training", "historyPoints"])?.intValue == rows,
            "every backfilled step: \(String(describing: status["status"]))")
        #expect(
            status.value(at: ["status", "training", "inputs"]) == ["requests"],
            "the covariate's history was read and trained on")
        if status.value(at: ["status", "training", "promoted"]) == true {
            let artefact = try ModelArtefact.load(path: model)
            #expect(artefact.header.inputColumns == ["requests"])
            #expect(artefact.header.featureNames.prefix(2) == ["load", "requests"])
        } else {
            #expect(status.value(at: ["status", "training", "reason"]) != nil, "a verdict either way")
        }
    }

    /// A Deployment in the embedded API server scaled from a live series: an exporter the
    /// test serves, scraped every second. Then Prometheus stops (metrics stale: no scale-in)
    /// and returns (it scales in); a policy with a bad query shows Prometheus's error.
    @Test func aDeploymentScalesFromALiveSeriesAndSurvivesPrometheusGoingAway() async throws {
        let exporter = try GaugeExporter("forescale_test_load", value: 300)
        defer { exporter.shutdown() }
        let load = exporter.value
        let prometheus = try await PrometheusPeer(scrape: exporter.target)
        defer { Task { await prometheus.remove() } }

        let (cluster, client) = try await EmbeddedCluster.withScalingPolicies(fieldManager: "forescale-controller")
        defer { cluster.stop() }
        defer { client.shutdown() }
        let name = try await cluster.createFixtureDeployment(client, replicas: 2)
        func policy(_ policyName: String, query: String) -> JSONValue {
            [
                "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy",
                "metadata": ["name": .string(policyName)],
                "spec": [
                    "target": ["kind": "Deployment", "name": .string(name)], "mode": "Reactive", "minCapacity": 1,
                    "maxCapacity": 10,
                    "targetUtilization": 60,
                    "metrics": [
                        "source": "prometheus", "stepSeconds": 1, "staleAfterSeconds": 5,
                        "prometheus": ["query": .string(query)],
                    ],
                    "behavior": [
                        "scaleUp": ["cooldownSeconds": 0],
                        "scaleDown": ["cooldownSeconds": 0, "stabilizationWindowSeconds": 2, "maxStep": 10],
                    ],
                ],
            ]
        }
        _ = try await client.create(.scalingPolicies, namespace: "default", policy("web", query: "forescale_test_load"))
        _ = try await client.create(
            .scalingPolicies, namespace: "default", policy("typo", query: "sum(rate(forescale_test_load[1m]"))

        let controller = Controller(
            client: client, configuration: .init(namespace: "default"),
            targets: TargetRegistry(
                client: client, anchor: Date(), prometheus: PrometheusConfiguration(url: prometheus.url),
                access: AccessControl(
                    rules: try AccessRules.parse(
                        Data("namespaces: {default: {prometheus: [default]}}".utf8), path: "rules"))),
            now: { Date() }, log: .discard)
        let running = Task { await controller.run() }
        defer { running.cancel() }
        func replicas() async throws -> Int {
            try await client.scale(.deployments, namespace: "default", name: name).specReplicas
        }
        func condition(_ policy: String, _ type: String) async throws -> JSONValue? {
            try await client.get(.scalingPolicies, namespace: "default", name: policy).value(at: [
                "status", "conditions",
            ])?.arrayValue?
            .first { $0["type"]?.stringValue == type }
        }
        func waitFor(_ seconds: Int, _ check: () async throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline {
                if try await check() { return true }
                try await Task.sleep(for: .milliseconds(250))
            }
            return false
        }

        // 300 % of one replica at 60 %: 5 replicas.
        let scaledUp = try await eventually(every: .milliseconds(250)) { try await replicas() == 5 }
        #expect(scaledUp, "scaled up from the live series")
        let typo = try await condition("typo", "Ready")
        #expect(typo?["status"] == "False" && typo?["reason"] == "PrometheusQueryRejected")
        #expect(
            typo?["message"]?.stringValue?.contains("parse error") == true,
            "Prometheus's own message: \(String(describing: typo))")

        // Prometheus goes away while the load falls: stale metrics, no scale-in.
        await prometheus.stop()
        load.withLock { $0 = 60 }
        #expect(
            try await eventually(every: .milliseconds(250)) {
                try await condition("web", "MetricsAvailable")?["status"] == "False"
            })
        let stale = try await condition("web", "MetricsAvailable")
        #expect(stale?["reason"] == "PrometheusUnreachable", "\(String(describing: stale))")
        try await Task.sleep(for: .seconds(4))
        #expect(try await replicas() == 5, "never scale in on stale metrics")

        // It returns: fresh metrics, and the lower load scales in to 1.
        try await prometheus.start()
        let scaledIn = try await eventually(every: .milliseconds(250)) { try await replicas() == 1 }
        #expect(scaledIn, "scaled in once Prometheus was back")
        #expect(try await condition("web", "MetricsAvailable")?["status"] == "True")
    }
}
