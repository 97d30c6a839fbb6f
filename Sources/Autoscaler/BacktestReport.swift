import Forecasting
import Foundation
import KubeCore
import PolicyEngine

/// A self-contained HTML report of a backtest: inline SVG charts (load vs. forecast, capacity
/// per policy with actions marked), a summary table, inline CSS; no scripts or external
/// assets, so it works offline and from a file.
public enum BacktestReport {
    public static func html(title: String, results: [Backtest.Result], slo: Double) -> String {
        let colors = [
            "predictive": "#2563eb", "reactive": "#dc2626", "threshold": "#16a34a", "reactive-matched": "#f59e0b",
        ]
        var rows = ""
        for result in results {
            rows +=
                "<tr><td><span class=\"dot\" "
                + "style=\"background:\(colors[result.name] ?? "#555")\"></span>\(escape(result.name))</td>"
            rows +=
                "<td>\(result.overloadIntervals)</td>"
                + "<td>\(String(format: "%.0f", result.underProvisionedInstanceMinutes))</td>"
            rows += "<td>\(String(format: "%.1f", result.instanceHours))</td><td>\(result.scalingActions)</td>"
            rows += "<td>\(result.forecastMAE.map { String(format: "%.2f", $0) } ?? "–")</td></tr>\n"
        }
        let timeline = results.first?.timeline ?? []
        let demand = timeline.map(\.demand)
        let predictive = results.first { $0.name == "predictive" }?.timeline ?? []

        // The 24 h (or the whole replay, if shorter) where Reactive — else the first policy —
        // was overloaded most: where the policies differ.
        let window = min(timeline.count, max(1, Int((86_400 / max(1, stepSeconds(timeline))).rounded())))
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

        func loadChart(_ range: Range<Int>) -> Chart {
            let slice = Array(predictive.isEmpty ? [] : predictive[range])
            let loads = Array(demand[range])
            var chart = Chart(
                width: 960, height: 260, count: loads.count,
                maximum: max(
                    1, (loads + slice.compactMap(\.forecast) + slice.compactMap { $0.band?.upperBound }).max() ?? 1),
                times: Array(timeline[range].map(\.time)))
            chart.band(
                slice.map(\.band), color: "rgba(37,99,235,0.28)",
                label: "forecast band (the model's lowest to highest quantile)")
            chart.line(loads, color: "#111827", label: "load", width: 1)
            chart.line(
                slice.map { $0.forecast ?? .nan }, color: "#2563eb",
                label: "forecast (predictive: quantile over the lead time)", dashed: true)
            return chart
        }
        func capacityChart(_ range: Range<Int>, _ policies: [Backtest.Result], height: Double) -> Chart {
            let maximum = Double(policies.flatMap { $0.timeline[range].map(\.desired) }.max() ?? 1)
            let needed = demand[range].map { (Double(Int(($0 / slo).rounded(.up)))) }
            var chart = Chart(
                width: 960, height: height, count: range.count, maximum: max(1, maximum, needed.max() ?? 1),
                times: Array(timeline[range].map(\.time)))
            chart.line(needed, color: "#9ca3af", label: "needed at the SLO", step: true, width: 3)
            for result in policies {
                let color = colors[result.name] ?? "#555"
                let steps = Array(result.timeline[range])
                chart.line(
                    steps.map { Double($0.inService) }, color: color, label: "\(result.name) in service", step: true)
                let actions = steps.indices.filter { $0 > 0 && steps[$0].desired != steps[$0 - 1].desired }
                chart.marks(actions, values: actions.map { Double(steps[$0].desired) }, color: color)
            }
            return chart
        }
        let whole = 0..<timeline.count
        var perPolicy = ""
        for result in results {
            perPolicy +=
                "<h3>\(escape(result.name))</h3>\n"
                + capacityChart(whole, [result], height: 130).svg(id: "capacity-\(escape(result.name))") + "\n"
        }
        let start = results.first?.timeline.first.map { Timestamps.format($0.time) } ?? ""
        let end = results.first?.timeline.last.map { Timestamps.format($0.time) } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,\
             initial-scale=1">
            <title>\(escape(title))</title>
            <style>
            body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#111827;\
            max-width:1000px}
            h1{font-size:20px}h2{font-size:16px;margin-top:28px}h3{font-size:13px;margin:14px 0 4px;color:#374151}
            table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:6px 8px;\
            text-align:right}
            td:first-child,th:first-child{text-align:left}.dot{display:inline-block;width:10px;height:10px;\
            border-radius:5px;margin-right:6px}
            svg{width:100%;height:auto;background:#fafafa;border:1px solid #e5e7eb}.legend{font-size:12px;color:#374151}
            </style></head><body>
            <h1>\(escape(title))</h1>
            <p>\(demand.count) steps from \(escape(start)) to \(escape(end)); overload = per-instance utilisation\
             above \(Int(slo)) %.</p>
            <table><thead><tr><th>policy</th><th>overload intervals</th><th>under-provisioned instance-min</th><th>\
            instance-hours</th><th>scaling actions</th><th>forecast MAE</th></tr></thead>
            <tbody>
            \(rows)</tbody></table>
            <h2>Load and forecast</h2>
            \(loadChart(whole).svg(id: "load-chart"))
            <h2>Closer: the \(zoom.count == timeline.count ? "whole replay" : "24 hours") with the most\
             overload\(most > 0 ? " (\(most) intervals for \(escape(results.first { $0.name == "reactive" }?.name ?? results.first?.name ?? "")))" : "")</h2>
            \(loadChart(zoom).svg(id: "zoom-load-chart"))
            \(capacityChart(zoom, results, height: 220).svg(id: "capacity-chart"))
            <h2>Capacity in service per policy (marks: capacity changes)</h2>
            \(perPolicy)
            </body></html>
            """
    }

    static func stepSeconds(_ timeline: [Backtest.Step]) -> Double {
        timeline.count > 1 ? timeline[1].time.timeIntervalSince(timeline[0].time) : 300
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A minimal SVG line chart.
    struct Chart {
        var width: Double, height: Double, count: Int, maximum: Double
        /// Step times, for the axis labels (days, or hours within a day).
        var times: [Date] = []
        var body = ""
        var legend: [(String, String)] = []

        func x(_ index: Int) -> Double { 40 + (width - 50) * Double(index) / Double(max(1, count - 1)) }
        func y(_ value: Double) -> Double { height - 20 - (height - 30) * value / maximum }

        mutating func line(
            _ values: [Double], color: String, label: String, dashed: Bool = false, step: Bool = false,
            width: Double = 1.5
        ) {
            var path = ""
            var pen = false
            for (index, value) in values.enumerated() {
                guard value.isFinite else {
                    pen = false
                    continue
                }
                if pen, step, index > 0, values[index - 1].isFinite {
                    path += String(format: "L%.1f,%.1f", x(index), y(values[index - 1]))
                }
                path += String(format: "%@%.1f,%.1f", pen ? "L" : "M", x(index), y(value))
                pen = true
            }
            guard !path.isEmpty else { return }
            body +=
                "<path d=\"\(path)\" fill=\"none\" stroke=\"\(color)\" "
                + "stroke-width=\"\(width)\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")/>\n"
            legend.append((color, label))
        }

        /// A filled band between lower and upper values; gaps where a step has none.
        mutating func band(_ ranges: [ClosedRange<Double>?], color: String, label: String) {
            var runs: [[(Int, ClosedRange<Double>)]] = [[]]
            for (index, range) in ranges.enumerated() {
                if let range {
                    runs[runs.count - 1].append((index, range))
                } else if !runs[runs.count - 1].isEmpty {
                    runs.append([])
                }
            }
            var drawn = false
            for run in runs where !run.isEmpty {
                let upper = run.map { String(format: "%.1f,%.1f", x($0.0), y($0.1.upperBound)) }
                let lower = run.reversed().map { String(format: "%.1f,%.1f", x($0.0), y($0.1.lowerBound)) }
                body +=
                    "<polygon class=\"band\" points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\"/>\n"
                drawn = true
            }
            if drawn { legend.append((color, label)) }
        }

        mutating func marks(_ indices: [Int], values: [Double], color: String) {
            for (index, value) in zip(indices, values) {
                body += String(
                    format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", x(index), y(value), color)
            }
        }

        /// Midnights (UTC) as MM-DD over more than two days, else every 3 hours as HH:MM.
        func axisLabels() -> String {
            guard times.count > 1 else { return "" }
            let calendar = TimeSeriesTable.utcCalendar
            let span = times[times.count - 1].timeIntervalSince(times[0])
            var text = ""
            for (index, time) in times.enumerated() {
                let parts = calendar.dateComponents([.month, .day, .hour, .minute], from: time)
                let label: String?
                if span > 2 * 86_400 {
                    label =
                        index > 0 && parts.hour == 0 && parts.minute == 0
                        ? String(format: "%02d-%02d", parts.month!, parts.day!) : nil
                } else {
                    label = parts.minute == 0 && parts.hour! % 3 == 0 ? String(format: "%02d:00", parts.hour!) : nil
                }
                if let label {
                    text += String(
                        format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d1d5db\"/>", x(index),
                        height - 20, x(index), height - 16)
                    text += String(
                        format:
                            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" "
                            + "fill=\"#6b7280\">%@</text>\n",
                        x(index), height - 5, label)
                }
            }
            return text
        }

        func svg(id: String) -> String {
            var text =
                "<svg id=\"\(id)\" viewBox=\"0 0 \(Int(width)) \(Int(height + 18 * Double(legend.count)))\" "
                + "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n"
            text += String(
                format: "<line x1=\"40\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9ca3af\"/>\n", height - 20,
                width - 10, height - 20)
            text += String(
                format:
                    "<text x=\"4\" y=\"14\" font-size=\"11\">%.0f</text><text x=\"4\" y=\"%.1f\" "
                    + "font-size=\"11\">0</text>\n",
                maximum, height - 20)
            text += body
            text += axisLabels()
            for (index, entry) in legend.enumerated() {
                let top = height + 4 + 18 * Double(index)
                text += String(
                    format:
                        "<rect x=\"44\" y=\"%.1f\" width=\"12\" height=\"3\" fill=\"%@\"/><text class=\"legend\" "
                        + "x=\"62\" y=\"%.1f\" font-size=\"12\">%@</text>\n",
                    top + 6, entry.0, top + 10, BacktestReport.escape(entry.1))
            }
            return text + "</svg>"
        }
    }
}
