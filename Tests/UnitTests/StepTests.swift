import Forecasting
import Foundation
import KubeCore
import PolicyEngine
import TestSupport
import Testing

/// `Step.run`'s judgement of what it observed: model inputs, metrics problems.
@Suite struct StepTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func spec(_ extra: JSONValue = [:]) throws -> PolicySpec {
        try PolicySpec.parse(
            applyMergePatch(
                extra, to: ["target": ["kind": "Simulated", "name": "w", "simulation": [:]], "mode": "Predictive"])
        ).get()
    }

    static func model(inputs: [String]?) throws -> ModelObservation {
        var artefact = try ModelArtefact.load(
            path: Fixtures.root.appendingPathComponent("Models/ec2-825cc2-load.fsm").path)
        artefact.header.inputColumns = inputs
        return .loaded(
            LoadedModel(forecaster: Forecaster(artefact), version: "v1", loadedAt: now, artefact: "file:///m.fsm"))
    }

    static func history(inputs: Int = 0) -> [LoadSample] {
        (0..<60).map {
            LoadSample(
                time: now.addingTimeInterval(Double($0 - 59) * 300), load: 150,
                inputs: [Double](repeating: 3, count: inputs))
        }
    }

    static func condition(_ status: PolicyStatus, _ type: String) -> Condition? { status.conditionList.condition(type) }

    @Test func aModelThatReadsAnInputThePolicyLacksFallsBack() throws {
        let observation = Observation(
            now: Self.now, capacity: .init(desired: 3, inService: 3), history: Self.history(),
            model: try Self.model(inputs: ["requests"]))
        let result = Step.run(
            spec: try Self.spec(), generation: 1, observation: observation, previous: PolicyStatus(), memory: nil)
        let ready = Self.condition(result.status, "ModelReady")
        #expect(ready?.status == .false && ready?.reason == "ModelInputsMissing")
        #expect(ready?.message.contains("requests") == true)
        #expect(result.plan.fallback == .inputsMissing && result.plan.basis == .reactive)
        #expect(
            result.events.map(\.reason) == [.condition(.model(.inputsMissing))],
            "one Warning, from the Fallback condition")
    }

    /// A tiny model trained with a covariate, on data that ends now.
    static func trainedWithInput() throws -> ModelObservation {
        let rows = 400
        let times = (0..<rows).map { now.addingTimeInterval(Double($0 - rows) * 300) }
        let requests = (0..<rows).map { Float(50 + 20 * sin(Double($0) / 20)) }
        let table = TimeSeriesTable(
            timestamps: times, columns: ["load": requests.map { $0 * 3 }, "requests": requests],
            columnNames: ["load", "requests"])
        var recipe = TrainingRecipe.controller(
            horizon: 3, hasCalendar: false, inputs: ["requests"], hidden: 4, epochs: 1)
        recipe.workers = 1
        let artefact = try Training.run(table: table, targetColumn: "load", recipe: recipe, createdAt: now).artefact
        #expect(artefact.header.inputColumns == ["requests"])
        return .loaded(
            LoadedModel(forecaster: Forecaster(artefact), version: "v2", loadedAt: now, artefact: "file:///m.fsm"))
    }

    @Test func aModelReadsTheInputsThePolicyGives() throws {
        let spec = try Self.spec(["metrics": ["inputs": [["name": "requests"]]], "model": ["maxMAERatio": 100]])
        let observation = Observation(
            now: Self.now, capacity: .init(desired: 3, inService: 3), history: Self.history(inputs: 1),
            model: try Self.trainedWithInput())
        let result = Step.run(
            spec: spec, generation: 1, observation: observation, previous: PolicyStatus(), memory: nil)
        #expect(result.plan.fallback == nil, "\(String(describing: Self.condition(result.status, "ModelReady")))")
        #expect(!result.forecast.isEmpty)
    }

    /// Two policies deciding the same capacity in the same second at the same generation get
    /// different action ids (a shared ledger tells them apart).
    @Test func actionIDsAreUniquePerPolicy() throws {
        let observation = Observation(
            now: Self.now, capacity: .init(desired: 2, inService: 2),
            history: (0..<60).map {
                LoadSample(time: Self.now.addingTimeInterval(Double($0 - 59) * 300), load: 600, inputs: [])
            })
        let spec = try Self.spec(["mode": "Reactive"])
        let a = Step.run(
            spec: spec, generation: 2, observation: observation, previous: PolicyStatus(), memory: nil, policy: "uid-a")
        let b = Step.run(
            spec: spec, generation: 2, observation: observation, previous: PolicyStatus(), memory: nil, policy: "uid-b")
        let ids = [a.status.pendingAction?.id, b.status.pendingAction?.id].compactMap { $0 }
        #expect(ids.count == 2 && ids[0] != ids[1], "\(ids)")
    }

    @Test(arguments: [true, false])
    func aMetricsProblemSuspendsScaleInAndSaysWhy(_ needsAttention: Bool) throws {
        let problem = MetricsProblem(
            reason: .prometheusQueryRejected, message: "bad_data: parse error", needsAttention: needsAttention)
        let observation = Observation(
            now: Self.now, capacity: .init(desired: 8, inService: 8), history: [], metricsProblem: problem)
        let result = Step.run(
            spec: try Self.spec(["mode": "Reactive"]), generation: 1, observation: observation,
            previous: PolicyStatus(), memory: nil)
        #expect(result.plan.action == .hold, "no metrics: no scale-in")
        let metrics = Self.condition(result.status, "MetricsAvailable")
        #expect(
            metrics?.status == .false && metrics?.reason == "PrometheusQueryRejected"
                && metrics?.message.contains("parse error") == true)
        #expect(Self.condition(result.status, "Ready")?.status == (needsAttention ? .false : .true))
    }

    /// A metrics source may report any finite number: a load of 1e300 (or a model's output of
    /// Float's largest) is a huge load, not a trap in the status text.
    @Test(arguments: [1e300, 1e20, Double(Float.greatestFiniteMagnitude)])
    func aHugeLoadIsStatusNotACrash(_ load: Double) throws {
        for mode in ["Reactive", "Predictive"] {
            let observation = Observation(
                now: Self.now, capacity: .init(desired: 3, inService: 3),
                history: (0..<60).map {
                    LoadSample(time: Self.now.addingTimeInterval(Double($0 - 59) * 300), load: load, inputs: [])
                }, model: try Self.model(inputs: nil))
            let result = Step.run(
                spec: try Self.spec(["mode": .string(mode)]), generation: 1, observation: observation,
                previous: PolicyStatus(), memory: nil)
            #expect(result.plan.recommendation > 3, "\(mode): scales up to the bounds")
            #expect(
                result.status.loadVsTarget?.hasSuffix("%/60%") == true,
                "\(String(describing: result.status.loadVsTarget))")
        }
        #expect(1e300.wholeNumberText == "1e+300" && 12.6.wholeNumberText == "13" && (-0.4).wholeNumberText == "0")
        #expect(Double.nan.wholeNumberText == "NaN" && Double.infinity.wholeNumberText == "∞")
        let verdict = PromotionGate.decide(
            challengerMAE: 1e300, championMAE: 2e300, seasonalNaiveMAE: 1e299, margin: 0.02)
        #expect(verdict.message.contains("1e+300"), "\(verdict.message)")
    }
}
