import Forecasting
import Foundation
import KubeCore

/// Time-series charts as inline SVG, drawn on the server for the dashboard and the backtest
/// report alike, so both read the same way: a caller-chosen time domain (one time axis for
/// every chart of a page), ticks at round values with the unit named, calendar events and
/// overload intervals shaded, scaling actions marked, and a legend of only what is drawn.
/// Colours come from CSS classes (`css`), so a page can restyle them (dark mode).
public struct SVGChart: Sendable {
    public enum Kind: Sendable, Equatable {
        case line
        /// Holds each value until the next point (capacities).
        case step
        /// A step line with the area under it filled.
        case area
        /// Between `value` (low) and `upper` (high).
        case band
    }

    public struct Point: Sendable {
        public var time: Date
        public var value: Double?
        public var upper: Double?

        public init(_ time: Date, _ value: Double?, upper: Double? = nil) {
            self.time = time
            self.value = value
            self.upper = upper
        }
    }

    public struct Series: Sendable {
        /// `data-series` in the SVG (what tests look for).
        public var name: String
        public var label: String
        /// CSS class: the colour and dash.
        public var style: String
        public var kind: Kind
        public var points: [Point]

        public init(_ name: String, _ label: String, style: String, kind: Kind = .line, points: [Point]) {
            self.name = name
            self.label = label
            self.style = style
            self.kind = kind
            self.points = points
        }

        var drawnPoints: Int { points.filter { $0.value?.isFinite == true }.count }
    }

    /// A shaded time range: a calendar event, an overload interval.
    public struct Window: Sendable {
        public var start: Date
        public var end: Date
        public var title: String
        /// CSS class, and the legend label of its kind.
        public var style: String
        public var legend: String

        public init(start: Date, end: Date, title: String, style: String, legend: String) {
            self.start = start
            self.end = end
            self.title = title
            self.style = style
            self.legend = legend
        }
    }

    /// A horizontal line: a target, an SLO, a bound.
    public struct Rule: Sendable {
        public var value: Double
        public var label: String
        public var style: String

        public init(_ value: Double, _ label: String, style: String) {
            self.value = value
            self.label = label
            self.style = style
        }
    }

    /// A scaling action.
    public struct Marker: Sendable {
        public var time: Date
        public var value: Double
        public var up: Bool
        public var title: String

        public init(time: Date, value: Double, up: Bool, title: String) {
            self.time = time
            self.value = value
            self.up = up
            self.title = title
        }
    }

    public var id: String
    public var title: String
    /// The y axis's unit, written above it.
    public var unit: String
    public var width: Double
    public var height: Double
    public var domain: ClosedRange<Date>
    /// Whole-number ticks (instances).
    public var integer = false
    /// The y axis reaches at least this (a capacity maximum, an SLO).
    public var topAtLeast: Double = 0
    public var series: [Series] = []
    public var windows: [Window] = []
    public var rules: [Rule] = []
    public var markers: [Marker] = []

    public init(id: String, title: String, unit: String, width: Double, height: Double, domain: ClosedRange<Date>) {
        self.id = id
        self.title = title
        self.unit = unit
        self.width = max(280, min(2400, width.isFinite ? width : 960))
        self.height = max(120, min(1200, height.isFinite ? height : 260))
        self.domain = domain
    }

    // MARK: Scales

    /// Round ticks from 0 to at least `maximum`: steps of 1, 2, 2.5 or 5 × 10ⁿ (whole
    /// numbers only when `integer`), about `count` of them.
    public static func ticks(maximum: Double, integer: Bool, count: Int = 5) -> [Double] {
        let top = maximum.isFinite && maximum > 0 ? maximum : 1
        let raw = top / Double(max(1, count))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let multiples: [Double] = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]
        var step = (multiples.first { $0 * magnitude >= raw } ?? 10) * magnitude
        if integer { step = max(1, step.rounded()) }
        let steps = Int((top / step).rounded(.up))
        return (0...max(1, steps)).map { Double($0) * step }
    }

    /// Time ticks at round intervals (5 min … 1 week) at most every `minimumGap` points.
    static func timeTicks(_ domain: ClosedRange<Date>, plotWidth: Double, minimumGap: Double = 80) -> [(
        Date, String
    )] {
        let span = max(1, domain.upperBound.timeIntervalSince(domain.lowerBound))
        let candidates: [Double] = [300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800]
        let most = max(1, plotWidth / minimumGap)
        let step = candidates.first { span / $0 <= most } ?? (span / most / 86_400).rounded(.up) * 86_400
        let calendar = TimeSeriesTable.utcCalendar
        var ticks: [(Date, String)] = []
        var time = (domain.lowerBound.timeIntervalSince1970 / step).rounded(.up) * step
        while time <= domain.upperBound.timeIntervalSince1970, ticks.count < 100 {
            let date = Date(timeIntervalSince1970: time)
            let parts = calendar.dateComponents([.month, .day, .hour, .minute], from: date)
            let midnight = parts.hour == 0 && parts.minute == 0
            let label =
                step >= 86_400 || midnight
                ? String(format: "%02d-%02d", parts.month ?? 0, parts.day ?? 0)
                : String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
            ticks.append((date, label))
            time += step
        }
        return ticks
    }

    public static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return abs(value) >= 10 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }

    package static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    // MARK: Drawing

    public var svg: String {
        let left = 48.0
        let right = 14.0
        let top = 24.0
        let bottom = 22.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let t0 = domain.lowerBound.timeIntervalSince1970
        let span = max(1, domain.upperBound.timeIntervalSince1970 - t0)
        func x(_ date: Date) -> Double {
            left + min(1, max(0, (date.timeIntervalSince1970 - t0) / span)) * plotWidth
        }
        let values =
            series.flatMap { $0.points.flatMap { [$0.value, $0.upper] } }.compactMap { $0 }.filter(\.isFinite)
            + rules.map(\.value) + markers.map(\.value) + [topAtLeast]
        let ticks = Self.ticks(maximum: values.max() ?? 1, integer: integer, count: height < 200 ? 3 : 5)
        let yTop = ticks.last ?? 1
        func y(_ value: Double) -> Double { top + (1 - min(max(value, 0), yTop) / yTop) * plotHeight }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }

        var body = ""
        // Windows first (behind everything), clipped to the domain.
        for window in windows where window.end > domain.lowerBound && window.start < domain.upperBound {
            let x0 = x(window.start)
            let x1 = max(x(window.end), x0 + 1.5)
            body +=
                "<rect class=\"window \(window.style)\" x=\"\(f(x0))\" y=\"\(f(top))\" width=\"\(f(x1 - x0))\" "
                + "height=\"\(f(plotHeight))\"><title>\(Self.escape(window.title))</title></rect>\n"
        }
        // Grid and axes.
        for tick in ticks {
            body +=
                "<line class=\"gridline\" x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y(tick)))\" "
                + "y2=\"\(f(y(tick)))\"/><text class=\"tick\" x=\"\(f(left - 6))\" y=\"\(f(y(tick) + 4))\" "
                + "text-anchor=\"end\">\(Self.number(tick))</text>\n"
        }
        body += "<text class=\"unit\" x=\"\(f(left))\" y=\"14\">\(Self.escape(unit))</text>\n"
        body += "<text class=\"unit\" x=\"\(f(width - right))\" y=\"14\" text-anchor=\"end\">UTC</text>\n"
        let timeTicks = Self.timeTicks(domain, plotWidth: plotWidth)
        for (index, (time, label)) in timeTicks.enumerated() {
            let position = x(time)
            let anchor = position < left + 20 ? "start" : (position > width - right - 20 ? "end" : "middle")
            body +=
                "<line class=\"gridline\" x1=\"\(f(position))\" x2=\"\(f(position))\" y1=\"\(f(top + plotHeight))\" "
                + "y2=\"\(f(top + plotHeight + 4))\"/><text class=\"tick\" data-tick=\"\(index)\" x=\"\(f(position))\" "
                + "y=\"\(f(height - 6))\" text-anchor=\"\(anchor)\">\(label)</text>\n"
        }
        // Series.
        for item in series {
            let points = item.points.sorted { $0.time < $1.time }
            if case .band = item.kind {
                for run in Self.runs(points, where: { $0.value?.isFinite == true && $0.upper?.isFinite == true }) {
                    let upper = run.map { "\(f(x($0.time))),\(f(y($0.upper!)))" }
                    let lower = run.reversed().map { "\(f(x($0.time))),\(f(y($0.value!)))" }
                    body +=
                        "<polygon class=\"\(item.style)\" data-series=\"\(Self.escape(item.name))\" "
                        + "points=\"\((upper + lower).joined(separator: " "))\"/>\n"
                }
                continue
            }
            var path = ""
            for run in Self.runs(points, where: { $0.value?.isFinite == true }) {
                for (index, point) in run.enumerated() {
                    let px = f(x(point.time))
                    let py = f(y(point.value!))
                    if index == 0 {
                        path += "M\(px),\(py)"
                    } else if case .line = item.kind {
                        path += "L\(px),\(py)"
                    } else {
                        path += "H\(px)V\(py)"
                    }
                }
                if case .area = item.kind, let first = run.first {
                    path += "V\(f(y(0)))H\(f(x(first.time)))Z"
                }
            }
            guard !path.isEmpty else { continue }
            body +=
                "<path class=\"\(item.style)\(item.kind == .area ? " area" : "")\" "
                + "data-series=\"\(Self.escape(item.name))\" d=\"\(path)\"/>\n"
        }
        for rule in rules {
            body +=
                "<line class=\"rule \(rule.style)\" x1=\"\(f(left))\" x2=\"\(f(width - right))\" "
                + "y1=\"\(f(y(rule.value)))\" y2=\"\(f(y(rule.value)))\"/><text class=\"rule-label\" "
                + "x=\"\(f(width - right - 2))\" y=\"\(f(y(rule.value) - 3))\" text-anchor=\"end\">"
                + "\(Self.escape(rule.label))</text>\n"
        }
        for marker in markers where domain.contains(marker.time) {
            let mx = x(marker.time)
            let my = y(marker.value)
            let shape =
                marker.up
                ? "M\(f(mx - 5)),\(f(my + 9))L\(f(mx + 5)),\(f(my + 9))L\(f(mx)),\(f(my))Z"
                : "M\(f(mx - 5)),\(f(my - 9))L\(f(mx + 5)),\(f(my - 9))L\(f(mx)),\(f(my))Z"
            body +=
                "<path class=\"action \(marker.up ? "m-up" : "m-down")\" d=\"\(shape)\">"
                + "<title>\(Self.escape(marker.title))</title></path>\n"
        }

        // Legend: what is drawn, wrapped to the width.
        var entries: [(swatch: String, label: String)] = []
        for item in series where item.drawnPoints > 0 {
            switch item.kind {
            case .band, .area: entries.append(("rect:\(item.style)", item.label))
            case .line, .step: entries.append(("line:\(item.style)", item.label))
            }
        }
        var windowKinds: [String] = []
        for window in windows
        where window.end > domain.lowerBound && window.start < domain.upperBound && !windowKinds.contains(window.style)
        {
            windowKinds.append(window.style)
            entries.append(("rect:window \(window.style)", window.legend))
        }
        for rule in rules { entries.append(("line:rule \(rule.style)", rule.label)) }
        let shown = markers.filter { domain.contains($0.time) }
        if shown.contains(where: \.up) { entries.append(("mark:m-up", "scale-up")) }
        if shown.contains(where: { !$0.up }) { entries.append(("mark:m-down", "scale-down")) }
        var legend = ""
        var cursor = left
        var row = 0
        for entry in entries {
            let itemWidth = 24 + 6.6 * Double(entry.label.count) + 14
            if cursor + itemWidth > width - right, cursor > left {
                row += 1
                cursor = left
            }
            let ly = height + 14 + 18 * Double(row)
            let parts = entry.swatch.split(separator: ":", maxSplits: 1).map(String.init)
            switch parts[0] {
            case "rect":
                legend +=
                    "<rect class=\"swatch \(parts[1])\" x=\"\(f(cursor))\" y=\"\(f(ly - 8))\" width=\"16\" height=\"10\"/>"
            case "mark":
                legend +=
                    "<path class=\"swatch \(parts[1])\" d=\"M\(f(cursor + 3)),\(f(ly + 1))L\(f(cursor + 13)),\(f(ly + 1))"
                    + "L\(f(cursor + 8)),\(f(ly - 8))Z\"/>"
            default:
                legend +=
                    "<line class=\"swatch \(parts[1])\" x1=\"\(f(cursor))\" x2=\"\(f(cursor + 16))\" y1=\"\(f(ly - 3))\" "
                    + "y2=\"\(f(ly - 3))\"/>"
            }
            legend +=
                "<text class=\"legend\" x=\"\(f(cursor + 22))\" y=\"\(f(ly + 1))\">\(Self.escape(entry.label))</text>\n"
            cursor += itemWidth
        }
        let fullHeight = height + (entries.isEmpty ? 0 : 8 + 18 * Double(row + 1))
        let points = series.filter { $0.kind != .band }.map(\.drawnPoints).reduce(0, +)
        return
            "<svg id=\"\(Self.escape(id))\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(fullHeight.rounded(.up)))\" role=\"img\" "
            + "aria-label=\"\(Self.escape(title))\" data-points=\"\(points)\">\n\(body)\(legend)</svg>"
    }

    /// Overload intervals as shaded windows: each overloaded step from its time to the next
    /// step's, consecutive steps merged.
    public static func overloads(_ steps: [(start: Date, end: Date, overloaded: Bool)]) -> [Window] {
        var windows: [Window] = []
        for step in steps where step.overloaded {
            if let last = windows.last, last.end == step.start {
                windows[windows.count - 1].end = step.end
            } else {
                windows.append(
                    .init(
                        start: step.start, end: step.end, title: "overloaded from \(Timestamps.format(step.start))",
                        style: "w-overload", legend: "overload (above the SLO)"))
            }
        }
        return windows
    }

    /// Runs of consecutive points that pass `test` (a gap splits a line).
    static func runs(_ points: [Point], where test: (Point) -> Bool) -> [[Point]] {
        var runs: [[Point]] = []
        var current: [Point] = []
        for point in points {
            if test(point) {
                current.append(point)
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// The classes the charts use, light and dark; pages include it in their style sheet.
    public static let css = """
        svg.chart { width:100%; height:auto; display:block; font:11px system-ui,-apple-system,"Segoe UI",Roboto,\
        sans-serif; }
        svg.chart text { fill:#667085; } svg.chart text.unit { font-weight:600; }
        svg.chart .gridline { stroke:#e4e7ec; stroke-width:1; }
        svg.chart path, svg.chart line.rule, svg.chart line[class^="s-"], svg.chart line[class*=" s-"] { fill:none;\
         stroke-width:2; }
        svg.chart .rule { stroke-width:1.5; stroke-dasharray:6 4; }
        svg.chart .s-load { stroke:#1d4ed8; } svg.chart .s-forecast { stroke:#ea580c; stroke-dasharray:6 4; }
        svg.chart .s-band { fill:rgba(234,88,12,.18); stroke:none; }
        svg.chart .s-capacity { stroke:#0f766e; } svg.chart .s-slo-load { stroke:#b42318; stroke-dasharray:3 3;\
         stroke-width:1.5; }
        svg.chart .s-util { stroke:#1d4ed8; }
        svg.chart .s-insvc { stroke:#64748b; stroke-width:1; } svg.chart path.s-insvc.area { fill:rgba(100,116,139,.22); }
        svg.chart rect.s-insvc { fill:rgba(100,116,139,.22); stroke:#64748b; }
        svg.chart .s-current { stroke:#0f766e; stroke-width:2.5; }
        svg.chart .s-desired { stroke:#9333ea; stroke-dasharray:4 3; stroke-width:1.5; }
        svg.chart .s-needed { stroke:#94a3b8; stroke-width:3; }
        svg.chart .r-target { stroke:#475467; } svg.chart .r-slo { stroke:#b42318; } svg.chart .r-bound { stroke:#98a2b3; }
        svg.chart .w-calendar { fill:rgba(202,138,4,.16); } svg.chart .w-overload { fill:rgba(220,38,38,.22); }
        svg.chart .m-up { fill:#15803d; stroke:none; } svg.chart .m-down { fill:#c2410c; stroke:none; }
        svg.chart .p-predictive { stroke:#1d4ed8; } svg.chart .p-reactive { stroke:#dc2626; }
        svg.chart .p-threshold { stroke:#15803d; } svg.chart .p-reactive-matched { stroke:#d97706; }
        @media (prefers-color-scheme: dark) {
          svg.chart text { fill:#98a2b3; } svg.chart .gridline { stroke:#283244; }
          svg.chart .s-load, svg.chart .s-util { stroke:#60a5fa; } svg.chart .s-capacity, svg.chart .s-current {\
         stroke:#2dd4bf; }
          svg.chart .r-target { stroke:#cbd5e1; }
        }
        """
}
