import Autoscaler
import Commands
import FileIO
import Forecasting
import Foundation
import KubeCore
import PolicyEngine
import Simulation

/// `forescale backtest --traces DIR`: every trace in a folder, the same way, and the aggregate
/// — and with `--frontier`, the cost–overload frontier of each: Reactive at several target
/// utilisations, Predictive at several quantiles, and whether Predictive lies below
/// Reactive's frontier (fewer overloads than Reactive at the same spend, interpolated).
enum BacktestSweep {
    /// How a trace is read as load: `DIR/traces.json` (`{"file.csv": {"loadScale": 2}}` or
    /// `{"capacityPerInstance": 24}`), else a utilisation trace (values up to 100) at ×2 and a
    /// throughput trace at the capacity that needs four instances at 60 % for its 95th percentile.
    struct Scaling {
        var loadScale: Double
        var described: String
    }

    struct Row {
        var trace: String
        var scaling: String
        var predictive: Backtest.Result
        var reactive: Backtest.Result
        var frontier: [(name: String, cost: Double, overloads: Int)] = []
        var belowFrontier: Bool?
        /// The forecaster the selection served and every candidate's error at the acting step.
        var selection: ModelSelection?
    }

    static let reactiveTargets: [Double] = [40, 50, 60, 70, 80]
    static let predictiveQuantiles: [Double] = [0.5, 0.7, 0.8, 0.9]

    static func run(directory: String, _ arguments: inout Arguments) async throws -> Int32 {
        let slo = try arguments.option("slo", default: 80.0)
        let frontier = arguments.flag("frontier")
        let sizing = try arguments.option("sizing-utilization", as: Double.self)
        if let sizing, !(1...100).contains(sizing) {
            throw UsageError("--sizing-utilization is a per-instance utilisation in [1, 100]")
        }
        let json = arguments.flag("json")
        try arguments.finish()
        guard slo > 0, slo <= 100 else { throw UsageError("--slo is a per-instance utilisation in (0, 100]") }
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".csv") }
                .sorted()
        } catch {
            throw InputFileError(path: directory, problem: "cannot list the folder")
        }
        guard !files.isEmpty else { throw InputFileError(path: directory, problem: "no .csv traces in the folder") }
        var manifest: [String: JSONValue] = [:]
        let manifestPath = directory + "/traces.json"
        if let data = FileManager.default.contents(atPath: manifestPath) {
            guard let parsed = try? JSONValue(parsing: data), let object = parsed.objectValue else {
                throw InputFileError(path: manifestPath, problem: "not a JSON object of trace settings")
            }
            manifest = object
        }
        let started = ContinuousClock.now
        var rows: [Row] = []
        // A trace that cannot be replayed is reported and skipped; the others go on.
        var skipped: [(trace: String, problem: String)] = []
        for file in files {
            do {
                let row = try await replayTrace(
                    file, directory: directory, settings: manifest[file], manifestPath: manifestPath, slo: slo,
                    sizing: sizing, frontier: frontier)
                rows.append(row)
                if !json { print(line(row)) }
            } catch {
                let problem = "\(error)".replacingOccurrences(of: directory + "/" + file + ": ", with: "")
                skipped.append((file, problem))
                printError("\(directory)/\(file): skipped: \(problem)")
            }
        }
        guard !rows.isEmpty else {
            throw InputFileError(path: directory, problem: "no trace could be replayed (\(skipped.count) skipped)")
        }
        let seconds = (ContinuousClock.now - started).seconds
        let aggregate = Self.aggregate(rows)
        if json {
            printJSON([
                "traces": rows.map { row in
                    var object: [String: Any] = [
                        "trace": row.trace, "scaling": row.scaling, "predictive": row.predictive.json,
                        "reactive": row.reactive.json,
                    ]
                    if let selection = row.selection {
                        object["served"] = selection.served
                        object["selection_mae"] = selection.scores
                    }
                    if !row.frontier.isEmpty {
                        object["frontier"] = row.frontier.map {
                            ["policy": $0.name, "instance_hours": $0.cost, "overload_intervals": $0.overloads]
                        }
                        object["predictive_below_reactive_frontier"] = row.belowFrontier ?? false
                    }
                    return object
                },
                "aggregate": aggregate, "seconds": seconds, "slo_utilization": slo,
                "sizing_utilization": sizing ?? 60,
                "skipped": skipped.map { ["trace": $0.trace, "problem": $0.problem] },
            ])
        } else {
            print(
                String(
                    format:
                        "aggregate over %d traces: Predictive %.2f× Reactive's overloaded intervals (%d vs %d) at "
                        + "%+.1f %% instance-hours; actions per day %.1f vs %.1f; p80 coverage median %@",
                    rows.count, aggregate["overload_ratio"] as? Double ?? 0,
                    aggregate["predictive_overloads"] as? Int ?? 0, aggregate["reactive_overloads"] as? Int ?? 0,
                    aggregate["instance_hours_change_percent"] as? Double ?? 0,
                    aggregate["predictive_actions_per_day"] as? Double ?? 0,
                    aggregate["reactive_actions_per_day"] as? Double ?? 0,
                    (aggregate["median_coverage"] as? Double).map { String(format: "%.0f %%", $0 * 100) } ?? "–"))
            if frontier {
                print(
                    "Predictive (p80) below Reactive's frontier on \(rows.filter { $0.belowFrontier == true }.count) of "
                        + "\(rows.count) traces")
            }
            if !skipped.isEmpty {
                print(
                    "skipped \(skipped.count): " + skipped.map { "\($0.trace) (\($0.problem))" }.joined(separator: "; ")
                )
            }
            print(String(format: "%.1f s", seconds))
        }
        // Skipped traces are input the sweep could not use: said on standard error and in the exit status.
        return skipped.isEmpty ? ExitCode.success : ExitCode.usage
    }

    /// One trace of the sweep: trained on its first half, replayed on the second.
    static func replayTrace(
        _ file: String, directory: String, settings: JSONValue?, manifestPath: String, slo: Double, sizing: Double?,
        frontier: Bool
    ) async throws -> Row {
        let path = directory + "/" + file
        let scaling = try Self.scaling(path: path, settings: settings, source: manifestPath)
        let trace: Trace
        do { trace = try TraceLibrary.trace(path, loadScale: scaling.loadScale) } catch {
            throw InputFileError(path: path, problem: "\(error)")
        }
        if let note = trace.table.regularity?.note { printError("note: \(path): \(note)") }
        let start = trace.demand.count / 2
        guard start > 48 else {
            throw InputFileError(path: path, problem: "too short to backtest (\(trace.demand.count) rows)")
        }
        var spec: JSONValue = [
            "minCapacity": 1, "maxCapacity": 100, "targetUtilization": 60,
            "forecast": [
                "leadTimeSeconds": .number(PolicySpec.defaultLeadTimeSeconds),
                "quantile": .number(PolicySpec.defaultQuantile),
            ],
            "model": [
                "maxAgeSeconds": .integer(Int64(min(31_536_000, Double(trace.demand.count) * trace.step + 86_400)))
            ],
        ]
        if let sizing { spec.setValue(.number(sizing), at: ["forecast", "sizingUtilization"]) }
        let forecaster = try BacktestCommand.trainWalkForward(
            trace: trace, until: start, events: [], lead: PolicySpec.defaultLeadTimeSeconds, inputs: [], json: true)
        func replay(_ mode: String, target: Double = 60, quantile: Double? = nil, name: String? = nil) async throws
            -> Backtest.Result
        {
            try await BacktestCommand.replay(
                mode, spec: spec, trace: trace, start: start, warmup: 300, initialCapacity: 2, slo: slo,
                forecaster: forecaster, events: [], targetUtilization: target, quantile: quantile, name: name,
                source: path)
        }
        var row = Row(
            trace: file, scaling: scaling.described, predictive: try await replay("predictive"),
            reactive: try await replay("reactive"), selection: forecaster.header.selection)
        if frontier {
            for target in reactiveTargets {
                let result = target == 60 ? row.reactive : try await replay("reactive", target: target)
                row.frontier.append(("reactive@\(Int(target))", result.instanceHours, result.overloadIntervals))
            }
            for quantile in predictiveQuantiles {
                let result = quantile == 0.8 ? row.predictive : try await replay("predictive", quantile: quantile)
                row.frontier.append(
                    ("predictive@p\(Int(quantile * 100))", result.instanceHours, result.overloadIntervals))
            }
            let reactive = row.frontier.filter { $0.name.hasPrefix("reactive") }.map { ($0.cost, $0.overloads) }
            row.belowFrontier = isBelow(
                (row.predictive.instanceHours, row.predictive.overloadIntervals), reactive: reactive)
        }
        return row
    }

    static func scaling(path: String, settings: JSONValue?, source: String) throws -> Scaling {
        if let settings {
            if let scale = settings["loadScale"]?.doubleValue, scale > 0, scale <= 1_000_000 {
                return Scaling(loadScale: scale, described: "load × \(SVGChart.number(scale))")
            }
            if let capacity = settings["capacityPerInstance"]?.doubleValue, capacity > 0, capacity.isFinite {
                return Scaling(loadScale: 100 / capacity, described: "\(SVGChart.number(capacity)) per instance")
            }
            throw InputFileError(
                path: source, problem: "\(path): give loadScale (0…1000000] or capacityPerInstance > 0")
        }
        let raw: Trace
        do { raw = try TraceLibrary.trace(path, loadScale: 1) } catch {
            throw InputFileError(path: path, problem: "\(error)")
        }
        let sorted = raw.demand.sorted()
        let peak = sorted.last ?? 0
        if peak <= 100 { return Scaling(loadScale: 2, described: "utilisation × 2") }
        let p95 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.95))]
        let capacity = max(p95 * 100 / 240, 1e-9)
        return Scaling(loadScale: 100 / capacity, described: String(format: "%.4g per instance (p95 ÷ 2.4)", capacity))
    }

    /// Whether (cost, overloads) has no more overloads than Reactive's frontier at that cost
    /// (linear between the Reactive points that bracket it; beyond them, the nearest end).
    static func isBelow(_ point: (Double, Int), reactive: [(Double, Int)]) -> Bool {
        let sorted = reactive.sorted { $0.0 < $1.0 }
        guard let first = sorted.first, let last = sorted.last else { return false }
        let at: Double
        if point.0 <= first.0 {
            at = Double(first.1)
        } else if point.0 >= last.0 {
            at = Double(last.1)
        } else {
            let upper = sorted.firstIndex { $0.0 >= point.0 }!
            let (a, b) = (sorted[upper - 1], sorted[upper])
            at = Double(a.1) + (Double(b.1) - Double(a.1)) * (point.0 - a.0) / max(b.0 - a.0, 1e-9)
        }
        return Double(point.1) <= at
    }

    static func aggregate(_ rows: [Row]) -> [String: Any] {
        let predictiveOverloads = rows.map(\.predictive.overloadIntervals).reduce(0, +)
        let reactiveOverloads = rows.map(\.reactive.overloadIntervals).reduce(0, +)
        let predictiveCost = rows.map(\.predictive.instanceHours).reduce(0, +)
        let reactiveCost = rows.map(\.reactive.instanceHours).reduce(0, +)
        let coverages = rows.compactMap(\.predictive.forecastCoverage).sorted()
        func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
        var result: [String: Any] = [
            "traces": rows.count, "predictive_overloads": predictiveOverloads, "reactive_overloads": reactiveOverloads,
            "overload_ratio": reactiveOverloads == 0 ? 0 : Double(predictiveOverloads) / Double(reactiveOverloads),
            "instance_hours_change_percent": reactiveCost == 0
                ? 0 : 100 * (predictiveCost - reactiveCost) / reactiveCost,
            "predictive_actions_per_day": mean(rows.map(\.predictive.actionsPerDay)),
            "reactive_actions_per_day": mean(rows.map(\.reactive.actionsPerDay)),
            "coverage": rows.map { $0.predictive.forecastCoverage ?? -1 },
        ]
        if !coverages.isEmpty { result["median_coverage"] = coverages[coverages.count / 2] }
        if rows.contains(where: { $0.belowFrontier != nil }) {
            result["below_reactive_frontier"] = rows.filter { $0.belowFrontier == true }.count
        }
        return result
    }

    static func line(_ row: Row) -> String {
        let p = row.predictive
        let r = row.reactive
        let change = r.instanceHours == 0 ? 0 : 100 * (p.instanceHours - r.instanceHours) / r.instanceHours
        var text = String(
            format: "%@ (%@): overloads %d vs %d, %+.1f %% instance-hours, actions/day %.1f vs %.1f, flaps %d vs %d",
            row.trace, row.scaling, p.overloadIntervals, r.overloadIntervals, change, p.actionsPerDay, r.actionsPerDay,
            p.reversalsWithinHour, r.reversalsWithinHour)
        if let coverage = p.forecastCoverage { text += String(format: ", p80 coverage %.0f %%", coverage * 100) }
        if let selection = row.selection {
            text +=
                "\n  served: \(selection.served) (MAE at step \(selection.actingStep.map(String.init) ?? "?"): \(selection.summary))"
        }
        if !row.frontier.isEmpty {
            text +=
                "\n  frontier: "
                + row.frontier.map { "\($0.name) \(String(format: "%.0f", $0.cost)) h/\($0.overloads)" }.joined(
                    separator: ", ")
                + (row.belowFrontier == true ? " — Predictive below Reactive's" : " — Predictive not below Reactive's")
        }
        return text
    }
}
