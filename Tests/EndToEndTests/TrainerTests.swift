import Autoscaler
import Forecasting
import Foundation
import KubeClient
import KubeCore
import Simulation
import TestSupport
import Testing

/// `forescale trainer` end to end: a policy in the embedded API server whose simulated load
/// grows steadily (so seasonal-naive, a day behind, is beatable), history from that trace,
/// the promotion gate both ways, status and Events recorded.
@Suite struct TrainerTests {
    @Test func promotionGateBothWays() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        try await cluster.installScalingPolicyCRD(client)

        // Four days of load that grows 0.2 per step with a daily wave (10 instances: never saturated).
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let steps = 0..<(4 * 288)
        let table = TimeSeriesTable(
            timestamps: steps.map { start.addingTimeInterval(Double($0) * 300) },
            columns: ["load": steps.map { Float(100 + 0.2 * Double($0) + 30 * sin(2 * Double.pi * Double($0) / 288)) }],
            columnNames: ["load"])
        let trace = cluster.directory.file("trend.csv")
        try table.csv().write(toFile: trace, atomically: true, encoding: .utf8)
        // The operator keeps champions under <directory>/models/<namespace>/<name>/ (the trainer's artefactStore).
        let model = cluster.directory.file("models/default/trend/model.fsm")
        let rules = cluster.directory.file("access-rules.yaml")
        try Data("artefactStore: file://\(cluster.directory.path)/models/\n".utf8).write(
            to: URL(fileURLWithPath: rules))
        var policy = SeedScenario.policy(name: "trend", mode: "Predictive", modelURL: "file://" + model, calendar: nil)
        policy.setValue(
            [
                "trace": .string(trace), "loadScale": 1, "initialCapacity": 10, "warmupSeconds": 300,
                "startOffsetSteps": .integer(4 * 288 - 1),
            ], at: ["spec", "target", "simulation"])
        _ = try await client.create(.scalingPolicies, namespace: "default", policy)
        let anchor = Date(timeIntervalSince1970: 1_800_000_000)
        let shifted = SimulationPlugin.shiftedStart(
            traceStart: start, step: 300, offsetSteps: 4 * 288 - 1, anchor: anchor)
        let now = Timestamps.format(shifted.addingTimeInterval(Double(4 * 288 - 1) * 300 + 1))
        func train(_ extra: [String] = []) async throws -> CommandResult {
            try await ForescaleBinary.run(
                [
                    "trainer", "--policy", "default/trend", "--kubeconfig", cluster.kubeconfigPath, "--now", now,
                    "--history-days", "3.5", "--epochs", "6", "--hidden", "16", "--model-root", cluster.directory.path,
                    "--access-rules", rules,
                ] + extra)
        }

        // 1. No model yet: promoted when it beats seasonal-naive.
        let first = try await train()
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("promoted (NoChampion)"), "\(first.stdout)")
        let firstModel = try Data(contentsOf: URL(fileURLWithPath: model))

        // 2. A broken champion (the LSTM serving, weights sign-flipped and tripled): the challenger
        // beats it and replaces it.
        var broken = try ModelArtefact.decode(firstModel, path: model)
        broken.parameters = broken.parameters.map { -3 * $0 }
        broken.header.selection = nil  // the LSTM serves, whatever won the first selection
        try broken.write(to: model)
        let second = try await train()
        #expect(second.stdout.contains("promoted (Promoted)"), "\(second.stdout)")
        let promoted = try Data(contentsOf: URL(fileURLWithPath: model))
        #expect(promoted != (try broken.encoded()))

        // 3. Demanding a 50 % improvement over that (similar) champion: rejected, champion
        // kept — while seasonal-naive, a day behind the trend, would still be beaten by 50 %.
        let third = try await train(["--margin", "0.5"])
        #expect(third.status == 0)
        #expect(third.stdout.contains("rejected (WorseThanChampion)"), "\(third.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == promoted)

        let status = try await client.get(.scalingPolicies, namespace: "default", name: "trend")
        #expect(status.value(at: ["status", "training", "promoted"]) == false)
        #expect(status.value(at: ["status", "training", "reason"]) == "WorseThanChampion")
        #expect(
            status.value(at: ["status", "training", "championMAE"]) != nil
                && status.value(at: ["status", "training", "seasonalNaiveMAE"]) != nil)
        let reasons = try await client.list(.coreEvents, namespace: "default").items.compactMap {
            $0["reason"]?.stringValue
        }
        #expect(reasons.contains("ModelPromoted") && reasons.contains("ModelRejected"))

        let missing = try await ForescaleBinary.run([
            "trainer", "--policy", "default/missing", "--kubeconfig", cluster.kubeconfigPath,
        ])
        #expect(missing.status != 0 && missing.stderr.contains("not found"))
    }
}
