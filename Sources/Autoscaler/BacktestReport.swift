import Foundation

/// A self-contained HTML report of a backtest: inline SVG charts (load vs. forecast, capacity
/// per policy with actions marked), a summary table, inline CSS; no scripts or external
/// assets, so it works offline and from a file.
public enum BacktestReport {
    public static func html(title: String, results: [Backtest.Result], slo: Double) -> String {
        let colors = ["predictive": "#2563eb", "reactive": "#dc2626", "threshold": "#16a34a", "reactive-matched": "#f59e0b"]
        var rows = ""
        for result in results {
            rows += "<tr><td><span class=\"dot\" style=\"background:\(colors[result.name] ?? "#555")\"></span>\(escape(result.name))</td>"
            rows += "<td>\(result.overloadIntervals)</td><td>\(String(format: "%.0f", result.underProvisionedInstanceMinutes))</td>"
            rows += "<td>\(String(format: "%.1f", result.instanceHours))</td><td>\(result.scalingActions)</td>"
            rows += "<td>\(result.forecastMAE.map { String(format: "%.2f", $0) } ?? "–")</td></tr>\n"
        }
        let demand = results.first?.timeline.map(\.demand) ?? []
        let predictive = results.first { $0.name == "predictive" }?.timeline ?? []
        let forecast = predictive.map(\.forecast)
        let bands = predictive.map(\.band)
        var loadChart = Chart(width: 960, height: 260, count: demand.count,
                              maximum: max(1, (demand + forecast.compactMap { $0 } + bands.compactMap { $0?.upperBound }).max() ?? 1))
        loadChart.band(bands, color: "rgba(37,99,235,0.15)", label: "forecast band (the model's lowest to highest quantile)")
        loadChart.line(demand, color: "#111827", label: "load")
        loadChart.line(forecast.map { $0 ?? .nan }, color: "#2563eb", label: "forecast (predictive, quantile over lead time)", dashed: true)
        let capacityMaximum = Double(results.flatMap { $0.timeline.map(\.desired) }.max() ?? 1)
        var capacityChart = Chart(width: 960, height: 220, count: demand.count, maximum: max(1, capacityMaximum))
        for result in results {
            let color = colors[result.name] ?? "#555"
            capacityChart.line(result.timeline.map { Double($0.inService) }, color: color, label: "\(result.name) in service", step: true)
            let actions = result.timeline.indices.filter { $0 > 0 && result.timeline[$0].desired != result.timeline[$0 - 1].desired }
            capacityChart.marks(actions, values: actions.map { Double(result.timeline[$0].desired) }, color: color)
        }
        let start = results.first?.timeline.first.map { ISO8601DateFormatter().string(from: $0.time) } ?? ""
        let end = results.first?.timeline.last.map { ISO8601DateFormatter().string(from: $0.time) } ?? ""
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#111827;max-width:1000px}
        h1{font-size:20px}h2{font-size:16px;margin-top:28px}
        table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:right}
        td:first-child,th:first-child{text-align:left}.dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:6px}
        svg{width:100%;height:auto;background:#fafafa;border:1px solid #e5e7eb}.legend{font-size:12px;color:#374151}
        </style></head><body>
        <h1>\(escape(title))</h1>
        <p>\(demand.count) steps from \(escape(start)) to \(escape(end)); overload = per-instance utilisation above \(Int(slo)) %.</p>
        <table><thead><tr><th>policy</th><th>overload intervals</th><th>under-provisioned instance-min</th><th>instance-hours</th><th>scaling actions</th><th>forecast MAE</th></tr></thead>
        <tbody>
        \(rows)</tbody></table>
        <h2>Load and forecast</h2>
        \(loadChart.svg(id: "load-chart"))
        <h2>Capacity in service (marks: capacity changes)</h2>
        \(capacityChart.svg(id: "capacity-chart"))
        </body></html>
        """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A minimal SVG line chart.
    struct Chart {
        var width: Double, height: Double, count: Int, maximum: Double
        var body = ""
        var legend: [(String, String)] = []

        func x(_ index: Int) -> Double { 40 + (width - 50) * Double(index) / Double(max(1, count - 1)) }
        func y(_ value: Double) -> Double { height - 20 - (height - 30) * value / maximum }

        mutating func line(_ values: [Double], color: String, label: String, dashed: Bool = false, step: Bool = false) {
            var path = ""
            var pen = false
            for (index, value) in values.enumerated() {
                guard value.isFinite else { pen = false; continue }
                if pen, step, index > 0, values[index - 1].isFinite {
                    path += String(format: "L%.1f,%.1f", x(index), y(values[index - 1]))
                }
                path += String(format: "%@%.1f,%.1f", pen ? "L" : "M", x(index), y(value))
                pen = true
            }
            guard !path.isEmpty else { return }
            body += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")/>\n"
            legend.append((color, label))
        }

        /// A filled band between lower and upper values; gaps where a step has none.
        mutating func band(_ ranges: [ClosedRange<Double>?], color: String, label: String) {
            var runs: [[(Int, ClosedRange<Double>)]] = [[]]
            for (index, range) in ranges.enumerated() {
                if let range { runs[runs.count - 1].append((index, range)) } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
            }
            var drawn = false
            for run in runs where !run.isEmpty {
                let upper = run.map { String(format: "%.1f,%.1f", x($0.0), y($0.1.upperBound)) }
                let lower = run.reversed().map { String(format: "%.1f,%.1f", x($0.0), y($0.1.lowerBound)) }
                body += "<polygon class=\"band\" points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\"/>\n"
                drawn = true
            }
            if drawn { legend.append((color, label)) }
        }

        mutating func marks(_ indices: [Int], values: [Double], color: String) {
            for (index, value) in zip(indices, values) {
                body += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", x(index), y(value), color)
            }
        }

        func svg(id: String) -> String {
            var text = "<svg id=\"\(id)\" viewBox=\"0 0 \(Int(width)) \(Int(height + 18 * Double(legend.count)))\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n"
            text += String(format: "<line x1=\"40\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9ca3af\"/>\n", height - 20, width - 10, height - 20)
            text += String(format: "<text x=\"4\" y=\"14\" font-size=\"11\">%.0f</text><text x=\"4\" y=\"%.1f\" font-size=\"11\">0</text>\n", maximum, height - 20)
            text += body
            for (index, entry) in legend.enumerated() {
                let top = height + 4 + 18 * Double(index)
                text += String(format: "<rect x=\"44\" y=\"%.1f\" width=\"12\" height=\"3\" fill=\"%@\"/><text class=\"legend\" x=\"62\" y=\"%.1f\" font-size=\"12\">%@</text>\n", top + 6, entry.0, top + 10, BacktestReport.escape(entry.1))
            }
            return text + "</svg>"
        }
    }
}
