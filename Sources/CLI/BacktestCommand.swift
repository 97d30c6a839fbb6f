import Autoscaler
import Commands
import FileIO
import Forecasting
import Foundation
import KubeCore
import PolicyEngine
import Simulation

enum BacktestCommand: Subcommand {
    static let name = "backtest"
    static let summary = "replay a trace through predictive, reactive and threshold policies and compare"
    static let usage = """
        Usage: forescale backtest --trace F.csv|seed [--policy policy.yaml] [--model M.fsm] [--calendar events.json]
                                  [--compare predictive,reactive,threshold] [--warmup 300]
                                  [--initial-capacity 2] [--load-scale K | --capacity-per-instance X] [--slo 80]
                                  [--target-utilization 60] [--min 1] [--max 100] [--lead 300]
                                  [--quantile 0.8] [--start-step N] [--matched-cost]
                                  [--inputs col1,col2] [--retrain] [--json] [--html report.html]
               forescale backtest --traces DIR [--frontier] [--slo 80] [--sizing-utilization U] [--json]

        --policy takes a ScalingPolicy manifest: its spec (bounds, target utilisation, thresholds,
        forecast, behavior; simulation.initialCapacity and warmupSeconds) is what is replayed,
        with each compared mode in turn; the options below override it.
        Walk-forward replay with the real decide() and forecaster: the trace's load drives a
        simulated target whose capacity changes after --warmup seconds. Load is in
        instance-percent (100 = one instance fully busy). A utilisation trace (column load,
        value or cpu_utilization, in %) becomes load at the stated capacity: × --load-scale,
        default --initial-capacity. A throughput trace (requests, bytes) needs
        --capacity-per-instance X, the throughput one instance serves at 100 %: load = value / X × 100. The model\
         must predate --start-step (default: half the trace); without
        --model one is trained on the rows before it. `--trace seed` replays days 19–30 of the
        synthetic data (load scale 4) with Models/seed-load.fsm and the sale calendar
        (--retrain: train the controller's recipe on days 1–18 instead). --inputs names trace
        columns the model reads as covariates beside the load (the seed trace has network_in
        and request_count), as a policy's spec.metrics.inputs does; a model is trained with them.
        Reports per policy: overload intervals (utilisation above --slo), under-provisioned
        instance-minutes, instance-hours, scaling actions (and per day), flaps (an action undone
        within the hour), forecast MAE and coverage (the share of outcomes at or below the
        forecast at the policy's quantile) at the lead time, and the differences against
        Reactive and Threshold. --matched-cost adds Reactive run at the
        lower target utilisation that spends as much as Predictive (found by bisection): the
        overloads more headroom alone would have avoided. --html writes a self-contained report
        (inline SVG charts of load vs. forecast and capacity per policy, the summary table).
        --traces DIR replays every CSV in DIR the same way (half to train on, half replayed;
        scaling from DIR/traces.json, else utilisation × 2 or four instances at the 95th
        percentile) and prints each trace and the aggregate; --frontier adds Reactive at target
        utilisations 40–80 % and Predictive at p50–p90, and whether Predictive's p80 lies below
        Reactive's cost–overload frontier. --sizing-utilization U sizes Predictive's forecast
        quantile at U % per instance (spec.forecast.sizingUtilization; default: the target + 5).
        A trace that cannot be replayed (too short, unreadable) is named on standard error with
        the reason and skipped; the others are replayed and the exit status is then 64.
        A trace with missing rows or blank values is put on its grid (the median interval) by
        linear interpolation first, with a note saying how much was filled.
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        if let directory = try arguments.option("traces") {
            return try await BacktestSweep.run(directory: directory, &arguments)
        }
        let tracePath = try arguments.required("trace")
        let isSeed = tracePath == "seed"
        var modelPath = try arguments.option("model")
        let calendarPath = try arguments.option("calendar")
        let compare = (try arguments.option("compare") ?? "predictive,reactive,threshold").split(separator: ",").map {
            $0.lowercased()
        }
        let policyPath = try arguments.option("policy")
        let warmupOption = try arguments.option("warmup", as: Double.self)
        let initialCapacityOption = try arguments.option("initial-capacity", as: Int.self)
        let loadScaleOption = try arguments.option("load-scale", as: Double.self)
        let capacityPerInstance = try arguments.option("capacity-per-instance", as: Double.self)
        let slo = try arguments.option("slo", default: 80.0)
        // The replayed spec: defaults, then the --policy manifest's spec, then explicit options.
        var baseSpec: JSONValue = [
            "minCapacity": 1, "maxCapacity": 100, "targetUtilization": 60,
            "forecast": [
                "leadTimeSeconds": .number(PolicySpec.defaultLeadTimeSeconds),
                "quantile": .number(PolicySpec.defaultQuantile),
            ],
        ]
        if let policyPath {
            guard let data = FileManager.default.contents(atPath: policyPath) else {
                throw InputFileError(path: policyPath, problem: "cannot read the file")
            }
            let manifest: JSONValue
            do { manifest = try YAML.parse(String(decoding: data, as: UTF8.self)) } catch {
                throw InputFileError(path: policyPath, problem: "\(error)")
            }
            guard manifest["kind"] == "ScalingPolicy", let spec = manifest["spec"], spec.objectValue != nil else {
                throw InputFileError(path: policyPath, problem: "not a ScalingPolicy manifest with a spec")
            }
            baseSpec = applyMergePatch(spec, to: baseSpec)
        }
        if let value = try arguments.option("target-utilization", as: Double.self) {
            baseSpec["targetUtilization"] = .number(value)
        }
        if let value = try arguments.option("min", as: Int.self) { baseSpec["minCapacity"] = .integer(Int64(value)) }
        if let value = try arguments.option("max", as: Int.self) { baseSpec["maxCapacity"] = .integer(Int64(value)) }
        if let value = try arguments.option("lead", as: Double.self) {
            baseSpec.setValue(.number(value), at: ["forecast", "leadTimeSeconds"])
        }
        if let value = try arguments.option("quantile", as: Double.self) {
            baseSpec.setValue(.number(value), at: ["forecast", "quantile"])
        }
        let initialCapacityInSpec = baseSpec.value(at: ["target", "simulation", "initialCapacity"])?.intValue
        let startOption = try arguments.option("start-step", as: Int.self)
        let matchedCost = arguments.flag("matched-cost")
        let json = arguments.flag("json")
        let htmlPath = try arguments.option("html")
        let inputsOption = try arguments.option("inputs")
        let retrain = arguments.flag("retrain")
        try arguments.finish()
        // The manifest and every option, range-checked before anything is read or trained; the values replayed
        // are the parsed spec's (its defaults are SpecFields').
        let checked = try compile(
            "predictive", spec: baseSpec, step: 300, targetUtilization: nil, quantile: nil,
            source: policyPath ?? "--options")
        let targetUtilization = checked.targetUtilization
        let lead = checked.leadTimeSeconds
        let warmup = warmupOption ?? checked.simulation?.warmupSeconds ?? SpecFields.warmupSeconds.fallback ?? 0
        // Two instances before the first action unless the manifest or --initial-capacity says otherwise (the
        // backtest's own starting point; a live simulation derives its own from minCapacity).
        let initialCapacity = initialCapacityOption ?? initialCapacityInSpec ?? 2
        guard loadScaleOption == nil || capacityPerInstance == nil else {
            throw UsageError("--load-scale and --capacity-per-instance are alternatives: give one")
        }
        if let capacityPerInstance, !(capacityPerInstance > 0 && capacityPerInstance.isFinite) {
            throw UsageError("--capacity-per-instance must be positive")
        }
        if let loadScaleOption, !(loadScaleOption > 0 && loadScaleOption <= 1_000_000) {
            throw UsageError("--load-scale must be in (0, 1000000]")
        }
        guard slo > 0, slo <= 100 else { throw UsageError("--slo is a per-instance utilisation in (0, 100]") }
        if let warmupOption, !(0...86_400).contains(warmupOption) {
            throw UsageError("--warmup must be 0…86400 seconds")
        }
        if let initialCapacityOption, !(0...100_000).contains(initialCapacityOption) {
            throw UsageError("--initial-capacity must be 0…100000")
        }
        let loadScale =
            capacityPerInstance.map { 100 / $0 } ?? loadScaleOption ?? baseSpec.value(at: [
                "target", "simulation", "loadScale",
            ])?.doubleValue
            ?? (isSeed ? SeedScenario.loadScale : Double(initialCapacity))
        for mode in compare where !["predictive", "reactive", "threshold"].contains(mode) {
            throw UsageError("--compare takes predictive, reactive, threshold (got \(mode))")
        }

        let trace: Trace
        do { trace = try TraceLibrary.trace(isSeed ? "seed" : tracePath, loadScale: loadScale) } catch {
            throw InputFileError(path: tracePath, problem: "\(error)")
        }
        // A throughput trace (requests, bytes) read as utilisation would mean thousands of
        // instances: ask what one instance serves instead of guessing.
        if !isSeed, capacityPerInstance == nil, loadScaleOption == nil, trace.table.columns["load"] == nil,
            trace.table.columns["cpu_utilization"] == nil, let peak = trace.table.columns["value"]?.max(), peak > 100
        {
            throw UsageError(
                "\(tracePath): values reach \(Double(peak).wholeNumberText), more than a utilisation in %; for a throughput trace give "
                    + "--capacity-per-instance (what one instance serves at 100 %), or --load-scale to replay it as it is"
            )
        }
        // Said once the trace is usable (an error names the file on its own).
        if let note = trace.table.regularity?.note { printError("note: \(tracePath): \(note)") }
        // The backtest does not retrain: the model may age through the replay unless the
        // manifest says otherwise (the accuracy gate applies as in the controller).
        if baseSpec.value(at: SpecFields.modelMaxAgeSeconds.path) == nil {
            let span = (Double(trace.demand.count) * trace.step + 86_400).rounded(.up)
            baseSpec.setValue(
                .integer(Int64(min(span, SpecFields.modelMaxAgeSeconds.range.upperBound))),
                at: SpecFields.modelMaxAgeSeconds.path)
        }
        let start = startOption ?? (isSeed ? 18 * 288 : trace.demand.count / 2)
        guard start > 48, start < trace.demand.count - 1 else {
            throw UsageError("--start-step must leave history before it and steps after it")
        }

        var events: [CalendarEvent] = []
        if let calendarPath {
            guard let data = FileManager.default.contents(atPath: calendarPath) else {
                throw InputFileError(path: calendarPath, problem: "cannot read the file")
            }
            do { events = try BusinessCalendar.parse(data) } catch {
                throw InputFileError(path: calendarPath, problem: error.description)
            }
        } else if isSeed {
            events = BusinessCalendar.events(
                timestamps: trace.table.timestamps, flags: trace.table.columns["is_sale_active"]!, step: trace.step,
                prefix: "sale-day", multiplier: SeedScenario.saleMultiplier)
        }
        // Covariates: trace columns, from --inputs or the manifest's spec.metrics.inputs (by name).
        let inputs =
            inputsOption.map { $0.split(separator: ",").map(String.init) }
            ?? (baseSpec.value(at: ["metrics", "inputs"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        for name in inputs where trace.table.columns[name] == nil {
            throw UsageError(
                "--inputs: the trace has no column \(name) (columns: \(trace.table.columnNames.joined(separator: ", ")))"
            )
        }
        baseSpec.setValue(
            inputs.isEmpty ? nil : .array(inputs.map { ["name": .string($0)] }), at: ["metrics", "inputs"])
        // The committed seed model reads no inputs: with inputs, or asked to, train one.
        if modelPath == nil && isSeed && inputs.isEmpty && !retrain {
            modelPath = RepositoryFiles.locate("Models/seed-load.fsm")
        }
        let forecaster: Forecaster?
        if !compare.contains(where: { $0 != "reactive" }) {
            forecaster = nil  // Reactive alone uses no model: nothing to train
        } else if let modelPath {
            let loaded: Forecaster
            do { loaded = Forecaster(try ModelArtefact.load(path: modelPath)) } catch {
                throw InputFileError(path: modelPath, problem: error.description)
            }
            forecaster = loaded
            if loaded.header.trainingEnd > trace.start.addingTimeInterval(Double(start) * trace.step) && !isSeed {
                printError("warning: the model's training data ends after the backtest starts (it has seen the future)")
            }
        } else {
            forecaster = try trainWalkForward(
                trace: trace, until: start, events: events, lead: lead, quantile: Float(checked.quantile),
                inputs: inputs, json: json)
        }

        var results: [Backtest.Result] = []
        let started = ContinuousClock.now
        func replay(_ mode: String, targetUtilization: Double, name: String? = nil) async throws -> Backtest.Result {
            try await Self.replay(
                mode, spec: baseSpec, trace: trace, start: start, warmup: warmup, initialCapacity: initialCapacity,
                slo: slo, forecaster: forecaster, events: events, targetUtilization: targetUtilization, name: name,
                source: policyPath ?? "--options")
        }
        for mode in compare { results.append(try await replay(mode, targetUtilization: targetUtilization)) }
        var matchedUtilization: Double?
        if matchedCost, let predictive = results.first(where: { $0.name == "predictive" }) {
            // Instance-hours fall as the target utilisation rises: bisect for Predictive's spend,
            // keeping the run that comes closest.
            var low = 5.0
            var high = targetUtilization
            var best = (
                utilization: high,
                result: try await replay("reactive", targetUtilization: high, name: "reactive-matched")
            )
            if best.result.instanceHours < predictive.instanceHours {
                for _ in 0..<12 {
                    let middle = (low + high) / 2
                    let candidate = try await replay("reactive", targetUtilization: middle, name: "reactive-matched")
                    if candidate.instanceHours >= predictive.instanceHours { low = middle } else { high = middle }
                    if abs(candidate.instanceHours - predictive.instanceHours)
                        < abs(best.result.instanceHours - predictive.instanceHours)
                    {
                        best = (middle, candidate)
                    }
                }
            }
            matchedUtilization = best.utilization
            results.append(best.result)
        }
        let seconds = (ContinuousClock.now - started).seconds
        var report: [String: Any] = [
            "trace": tracePath, "steps": trace.demand.count - start, "start_step": start, "slo_utilization": slo,
            "load_scale": loadScale,
            "seconds": seconds, "policies": results.map(\.json),
        ]
        var comparisons: [[String: Any]] = []
        if let predictive = results.first(where: { $0.name == "predictive" }) {
            for baseline in results where baseline.name != "predictive" {
                let overload =
                    baseline.overloadIntervals == 0
                    ? 0
                    : 100 * Double(baseline.overloadIntervals - predictive.overloadIntervals)
                        / Double(baseline.overloadIntervals)
                let cost = 100 * (predictive.instanceHours - baseline.instanceHours) / max(baseline.instanceHours, 1e-9)
                comparisons.append([
                    "against": baseline.name, "overload_reduction_percent": overload,
                    "instance_hours_change_percent": cost,
                ])
            }
        }
        report["predictive_vs"] = comparisons
        if let matchedUtilization { report["matched_cost_target_utilization"] = matchedUtilization }
        if let htmlPath {
            try AtomicFile.write(
                Data(
                    BacktestReport.html(
                        title: "Forescale backtest: \(tracePath)", results: results, slo: slo, events: events
                    ).utf8),
                to: htmlPath)
            report["html"] = htmlPath
        }
        if json {
            printJSON(report)
        } else {
            print(
                "backtest of \(tracePath): \(trace.demand.count - start) steps of \(Int(trace.step)) s from step "
                    + "\(start); SLO \(Int(slo)) %; \(String(format: "%.1f", seconds)) s"
            )
            let rows = results.map { result in
                [
                    result.name, String(result.overloadIntervals),
                    String(format: "%.0f", result.underProvisionedInstanceMinutes),
                    String(format: "%.1f", result.instanceHours), String(result.scalingActions),
                    String(format: "%.1f", result.actionsPerDay), String(result.reversalsWithinHour),
                    result.forecastMAE.map { String(format: "%.2f", $0) } ?? "-",
                    result.forecastCoverage.map { String(format: "%.0f%%", $0 * 100) } ?? "-",
                ]
            }
            print(
                TextTable.render(
                    header: [
                        "policy", "overloads", "under-inst-min", "instance-h", "actions", "per-day", "flaps",
                        "forecast-MAE",
                        "p\(Int(((baseSpec.value(at: ["forecast", "quantile"])?.doubleValue ?? PolicySpec.defaultQuantile) * 100).rounded()))-coverage",
                    ],
                    rows: rows))
            if let matchedUtilization {
                print(
                    String(
                        format:
                            "reactive-matched: Reactive at target utilisation %.1f %%, about Predictive's "
                            + "instance-hours",
                        matchedUtilization))
            }
            for comparison in comparisons {
                let reduction = comparison["overload_reduction_percent"] as! Double
                print(
                    String(
                        format: "predictive vs %@: %.0f %% %@ overload intervals, %+.1f %% instance-hours",
                        comparison["against"] as! String, abs(reduction), reduction < 0 ? "more" : "fewer",
                        comparison["instance_hours_change_percent"] as! Double))
            }
        }
        return ExitCode.success
    }

    /// The policy `mode` replays: `spec` (defaults, manifest and options merged) on a
    /// simulated target, range-checked as the API server and the controller check it.
    static func compile(
        _ mode: String, spec baseSpec: JSONValue, step: Double, targetUtilization: Double?, quantile: Double?,
        source: String
    ) throws -> PolicySpec {
        var raw = baseSpec
        // The manifest's simulation settings (warm-up, initial capacity) are kept and checked with the rest.
        raw["target"] = [
            "kind": "Simulated", "name": "backtest", "simulation": baseSpec.value(at: ["target", "simulation"]) ?? [:],
        ]
        raw.setValue(nil, at: ["metrics", "source"])
        raw["mode"] = .string(mode == "predictive" ? "Predictive" : mode == "reactive" ? "Reactive" : "Threshold")
        if let targetUtilization { raw["targetUtilization"] = .number(targetUtilization) }
        raw["suspend"] = false
        raw.setValue(.number(step), at: ["metrics", "stepSeconds"])
        if let quantile { raw.setValue(.number(quantile), at: ["forecast", "quantile"]) }
        switch PolicySpec.parse(raw) {
        case .success(var parsed):
            parsed.stepSeconds = step
            return parsed
        case .failure(let invalid): throw InputFileError(path: source, problem: invalid.description)
        }
    }

    /// One replay of `mode` ("predictive", "reactive", "threshold") with `spec` (a spec's
    /// JSON: defaults, manifest and options merged) at `targetUtilization`.
    static func replay(
        _ mode: String, spec baseSpec: JSONValue, trace: Trace, start: Int, warmup: Double, initialCapacity: Int,
        slo: Double, forecaster: Forecaster?, events: [CalendarEvent], targetUtilization: Double,
        quantile: Double? = nil, name: String? = nil, source: String
    ) async throws -> Backtest.Result {
        let spec = try compile(
            mode, spec: baseSpec, step: trace.step, targetUtilization: targetUtilization, quantile: quantile,
            source: source)
        var options = Backtest.Options(startIndex: start)
        options.warmupSeconds = warmup
        options.initialCapacity = initialCapacity
        options.sloUtilization = slo
        // Reactive is HPA-like: no model, no calendar.
        let useModel = mode != "reactive"
        return await Backtest.run(
            name: name ?? mode, policy: spec, trace: trace, forecaster: useModel ? forecaster : nil,
            events: useModel ? events : [], options: options)
    }

    /// Trains the controller's recipe on the rows before `until` only.
    static func trainWalkForward(
        trace: Trace, until: Int, events: [CalendarEvent], lead: Double,
        quantile: Float = Float(PolicySpec.defaultQuantile),
        inputs: [String], json: Bool
    ) throws -> Forecaster {
        var columns = ["load": trace.demand.prefix(until).map { Float($0) }]
        for name in inputs { columns[name] = Array((trace.table.columns[name] ?? []).prefix(until)) }
        let table = TimeSeriesTable(
            timestamps: Array(trace.table.timestamps.prefix(until)), columns: columns, columnNames: ["load"] + inputs)
        let acting = Int(((lead + trace.step) / trace.step).rounded())
        let horizon = max(2, acting + 1)
        if !json { print("training a model on the \(until) rows before the backtest …") }
        do {
            let recipe = TrainingRecipe.controller(
                horizon: horizon, actingStep: acting, quantile: quantile, hasCalendar: !events.isEmpty, inputs: inputs)
            return Forecaster(
                try Training.run(
                    table: table, targetColumn: "load", recipe: recipe, events: events,
                    createdAt: trace.table.timestamps[until - 1]
                ).artefact)
        } catch {
            throw UsageError("cannot train on the \(until) rows before the replayed part: \(error.description)")
        }
    }

}
