import Autoscaler
import Forecasting
import Foundation
import KubeClient
import KubeCore
import Simulation
import TestSupport
import Testing

/// The trainer against a hostile tenant (the real binary, the embedded API server): it writes only under the
/// operator's store at the policy's own place, never promotes from a history that does not vary, and refuses
/// a horizon no model can have before it reads a row.
@Suite struct TrainerTenancyTests {
    /// A trace of `days` days at 5 minutes: `load(step)` per row.
    static func trace(_ path: String, days: Int, load: (Int) -> Double) throws {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let steps = 0..<(days * 288)
        let table = TimeSeriesTable(
            timestamps: steps.map { start.addingTimeInterval(Double($0) * 300) },
            columns: ["load": steps.map { Float(load($0)) }], columnNames: ["load"])
        try table.csv().write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func policy(_ name: String, trace: String, artefact: String?, extra: [String: JSONValue] = [:]) -> JSONValue
    {
        var policy = SeedScenario.policy(name: name, mode: "Predictive", modelURL: artefact, calendar: nil)
        policy.setValue(
            [
                "trace": .string(trace), "loadScale": 1, "initialCapacity": 10, "warmupSeconds": 300,
                "startOffsetSteps": .integer(4 * 288 - 1),
            ], at: ["spec", "target", "simulation"])
        for (path, value) in extra { policy.setValue(value, at: path.split(separator: ".").map(String.init)) }
        return policy
    }

    @Test func aTenantCannotChooseWhereTheTrainerWritesNorPromoteAConstantSeries() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        try await cluster.installScalingPolicyCRD(client)
        let directory = cluster.directory.path
        let rules = cluster.directory.file("access-rules.yaml")
        // The namespace may read every model in the store (so the write rule, not the read rule, is tested).
        try Data(
            """
            artefactStore: file://\(directory)/models/
            namespaces: {default: {artefacts: ["file://\(directory)/models/"]}}
            """.utf8
        ).write(to: URL(fileURLWithPath: rules))
        // Another tenant's champion, where the store keeps it.
        let victim = cluster.directory.file("models/tenant-b/payments/model.fsm")
        try FileManager.default.createDirectory(
            atPath: cluster.directory.file("models/tenant-b/payments"), withIntermediateDirectories: true)
        let victimBytes = try Data(contentsOf: Fixtures.root.appendingPathComponent("Models/seed-load.fsm"))
        try victimBytes.write(to: URL(fileURLWithPath: victim))

        let flat = cluster.directory.file("flat.csv")
        try Self.trace(flat, days: 4) { _ in 100 }
        let growing = cluster.directory.file("growing.csv")
        try Self.trace(growing, days: 4) { 100 + 0.2 * Double($0) + 30 * sin(2 * Double.pi * Double($0) / 288) }
        for policy in [
            Self.policy("thief", trace: growing, artefact: "file://" + victim),
            Self.policy("flat", trace: flat, artefact: nil),
            Self.policy(
                "stall", trace: growing, artefact: nil,
                extra: ["spec.metrics.stepSeconds": 1, "spec.forecast.leadTimeSeconds": 86_400]),
        ] {
            _ = try await client.create(.scalingPolicies, namespace: "default", policy)
        }
        let anchor = Date(timeIntervalSince1970: 1_800_000_000)
        let shifted = SimulationPlugin.shiftedStart(
            traceStart: Date(timeIntervalSince1970: 1_700_000_000), step: 300, offsetSteps: 4 * 288 - 1, anchor: anchor)
        let now = Timestamps.format(shifted.addingTimeInterval(Double(4 * 288 - 1) * 300 + 1))
        func train(_ name: String) async throws -> CommandResult {
            try await ForescaleBinary.run([
                "trainer", "--policy", "default/\(name)", "--kubeconfig", cluster.kubeconfigPath, "--now", now,
                "--history-days", "3.5", "--epochs", "3", "--hidden", "8", "--model-root", directory,
                "--access-rules", rules,
            ])
        }

        let thief = try await train("thief")
        #expect(thief.status != 0)
        #expect(thief.stderr.contains("outside") && thief.stderr.contains("models/default/thief/"), "\(thief.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == victimBytes, "the other tenant's champion stays")

        let flatRun = try await train("flat")
        #expect(flatRun.status == 0, "\(flatRun.stderr)")
        #expect(flatRun.stdout.contains("rejected (DegenerateHistory)"), "\(flatRun.stdout)")
        #expect(!FileManager.default.fileExists(atPath: cluster.directory.file("models/default/flat/model.fsm")))

        let stall = try await train("stall")
        #expect(stall.status != 0)
        #expect(stall.stderr.contains("a model forecasts at most"), "\(stall.stderr)")

        // Without rules the trainer writes nowhere.
        let closed = try await ForescaleBinary.run([
            "trainer", "--policy", "default/flat", "--kubeconfig", cluster.kubeconfigPath, "--now", now,
            "--model-root", directory,
        ])
        #expect(closed.status != 0 && closed.stderr.contains("no artefactStore"), "\(closed.stderr)")
    }
}
