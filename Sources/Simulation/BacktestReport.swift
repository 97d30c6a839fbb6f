import Autoscaler
import Forecasting
import Foundation
import KubeCore
import PolicyEngine

/// A self-contained HTML report of a backtest: the summary table, then inline SVG charts
/// drawn by `SVGChart` (as the dashboard's): load against the forecast over the whole
/// replay, then the 24 hours with the most overload — load and each policy's capacity on its
/// own chart (the capacity the SLO needs beneath it, overload intervals shaded, actions
/// marked) — and each policy's capacity over the whole replay. Calendar events are shaded
/// everywhere. No scripts or external assets: it works offline and from a file.
public enum BacktestReport {
    public static func html(
        title: String, results: [Backtest.Result], slo: Double, events: [CalendarEvent] = [], width: Double = 960
    ) -> String {
        var rows = ""
        for result in results {
            rows += "<tr><td><span class=\"dot p-\(escape(result.name))\"></span>\(escape(result.name))</td>"
            rows +=
                "<td>\(result.overloadIntervals)</td>"
                + "<td>\(String(format: "%.0f", result.underProvisionedInstanceMinutes))</td>"
            rows += "<td>\(String(format: "%.1f", result.instanceHours))</td><td>\(result.scalingActions)</td>"
            rows += "<td>\(result.forecastMAE.map { String(format: "%.2f", $0) } ?? "–")</td></tr>\n"
        }
        let timeline = results.first?.timeline ?? []
        guard let first = timeline.first, let last = timeline.last else {
            return page(title: title, body: "<p>No steps were replayed.</p>")
        }
        let step = stepSeconds(timeline)
        let predictive = results.first { $0.name == "predictive" }?.timeline ?? []

        // The 24 h (or the whole replay, if shorter) where Reactive — else the first policy —
        // was overloaded most: where the policies differ.
        let window = min(timeline.count, max(1, Int((86_400 / max(1, step)).rounded())))
        let reference = (results.first { $0.name == "reactive" } ?? results.first)?.timeline ?? []
        let overloaded = reference.map { $0.demand / Double(max(1, $0.inService)) > slo ? 1 : 0 }
        var zoomStart = 0
        var most = -1
        var running = 0
        for index in overloaded.indices {
            running += overloaded[index]
            if index >= window { running -= overloaded[index - window] }
            if index >= window - 1, running > most {
                most = running
                zoomStart = index - window + 1
            }
        }
        let zoom = zoomStart..<(zoomStart + window)
        let calendar = events.map {
            SVGChart.Window(
                start: $0.start, end: $0.end,
                title: "\($0.name): \(Timestamps.format($0.start)) – \(Timestamps.format($0.end))",
                style: "w-calendar", legend: "calendar event")
        }
        func domain(_ range: Range<Int>) -> ClosedRange<Date> {
            timeline[range.lowerBound].time...timeline[range.upperBound - 1].time.addingTimeInterval(step)
        }

        func loadChart(_ id: String, _ range: Range<Int>) -> String {
            var chart = SVGChart(
                id: id, title: "Load and forecast", unit: "load, % of one instance", width: width, height: 260,
                domain: domain(range))
            let forecast = predictive.isEmpty ? [] : Array(predictive[range])
            chart.series = [
                .init(
                    "band", "forecast band (the model's lowest to highest quantile)", style: "s-band", kind: .band,
                    points: forecast.map { .init($0.time, $0.band?.lowerBound, upper: $0.band?.upperBound) }),
                .init("load", "load", style: "s-load", points: timeline[range].map { .init($0.time, $0.demand) }),
                .init(
                    "forecast", "forecast (predictive: quantile over the lead time)", style: "s-forecast",
                    points: forecast.map { .init($0.time, $0.forecast) }),
            ]
            chart.windows = calendar
            return chart.svg
        }
        func capacityChart(_ id: String, _ result: Backtest.Result, _ range: Range<Int>) -> String {
            let steps = Array(result.timeline[range])
            var chart = SVGChart(
                id: id, title: "\(result.name): capacity in service", unit: "instances", width: width, height: 170,
                domain: domain(range))
            chart.integer = true
            chart.series = [
                .init(
                    "needed", "needed at the SLO (\(SVGChart.number(slo)) %)", style: "s-needed", kind: .step,
                    points: steps.map { .init($0.time, ($0.demand / slo).rounded(.up)) }),
                .init(
                    "inService", "\(result.name): in service", style: "p-\(result.name)", kind: .step,
                    points: steps.map { .init($0.time, Double($0.inService)) }),
            ]
            let overloads = SVGChart.overloads(
                steps.map {
                    ($0.time, $0.time.addingTimeInterval(step), $0.demand / Double(max(1, $0.inService)) > slo)
                })
            chart.windows = calendar + overloads
            chart.markers = steps.indices.filter { $0 > 0 && steps[$0].desired != steps[$0 - 1].desired }.map {
                .init(
                    time: steps[$0].time, value: Double(steps[$0].desired),
                    up: steps[$0].desired > steps[$0 - 1].desired,
                    title: "\(Timestamps.format(steps[$0].time)): \(steps[$0 - 1].desired) → \(steps[$0].desired)")
            }
            return chart.svg
        }
        let whole = 0..<timeline.count
        let zoomed = results.map {
            "<h3>\(escape($0.name))</h3>\n" + capacityChart("zoom-capacity-\($0.name)", $0, zoom)
        }
        let perPolicy = results.map {
            "<h3>\(escape($0.name))</h3>\n" + capacityChart("capacity-\($0.name)", $0, whole)
        }
        let reactiveName = results.first { $0.name == "reactive" }?.name ?? results.first?.name ?? ""
        let body = """
            <p>\(timeline.count) steps of \(Int(step)) s from \(Timestamps.format(first.time)) to \
            \(Timestamps.format(last.time)); overload = per-instance utilisation above \(Int(slo)) %; load in % of one \
            instance.</p>
            <div class="scroll"><table><thead><tr><th>policy</th><th>overload intervals</th><th>under-provisioned instance-min</th><th>\
            instance-hours</th><th>scaling actions</th><th>forecast MAE</th></tr></thead>
            <tbody>
            \(rows)</tbody></table></div>
            <h2>Load and forecast, the whole replay</h2>
            \(loadChart("load-chart", whole))
            <h2>Closer: the \(zoom.count == timeline.count ? "whole replay" : "24 hours") with the most overload\
            \(most > 0 ? " (\(most) intervals for \(escape(reactiveName)))" : "")</h2>
            \(loadChart("zoom-load-chart", zoom))
            \(zoomed.joined(separator: "\n"))
            <h2>Capacity in service per policy, the whole replay</h2>
            \(perPolicy.joined(separator: "\n"))
            """
        return page(title: title, body: body)
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, \
        initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;padding:0 12px;\
        color:#111827;max-width:1000px}
        h1{font-size:20px}h2{font-size:16px;margin-top:28px}h3{font-size:13px;margin:14px 0 4px;color:#374151}
        table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:6px 8px;\
        text-align:right}th{white-space:nowrap;font-size:12px;color:#4b5563}
        td:first-child,th:first-child{text-align:left}.dot{display:inline-block;width:10px;height:10px;\
        border-radius:5px;margin-right:6px;background:currentColor}
        .dot.p-predictive{color:#1d4ed8}.dot.p-reactive{color:#dc2626}.dot.p-threshold{color:#15803d}\
        .dot.p-reactive-matched{color:#d97706}
        .scroll{overflow-x:auto}
        \(SVGChart.css)
        </style></head><body>
        <h1>\(escape(title))</h1>
        \(body)
        </body></html>
        """
    }

    static func stepSeconds(_ timeline: [Backtest.Interval]) -> Double {
        timeline.count > 1 ? timeline[1].time.timeIntervalSince(timeline[0].time) : 300
    }

    static func escape(_ text: String) -> String { SVGChart.escape(text) }
}
