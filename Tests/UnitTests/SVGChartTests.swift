import Autoscaler
import Foundation
import Testing

/// The charts' scales and what they draw.
@Suite struct SVGChartTests {
    @Test(arguments: [
        (362.0, false, [0.0, 100, 200, 300, 400]),
        (91.0, false, [0.0, 20, 40, 60, 80, 100]),
        (12.0, true, [0.0, 5, 10, 15]),
        (3.0, true, [0.0, 1, 2, 3]),
        (0.7, false, [0.0, 0.2, 0.4, 0.6, 0.8]),
        (1.2, true, [0.0, 1, 2]),
        (0.0, false, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (Double.nan, false, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    ])
    func ticksAreRoundAndCoverTheData(_ maximum: Double, _ integer: Bool, _ expected: [Double]) {
        let ticks = SVGChart.ticks(maximum: maximum, integer: integer)
        #expect(zip(ticks, expected).allSatisfy { abs($0 - $1) < 1e-9 } && ticks.count == expected.count, "\(ticks)")
    }

    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    func chart() -> SVGChart {
        var chart = SVGChart(
            id: "c", title: "T", unit: "instances", width: 800, height: 200,
            domain: Self.start...Self.start.addingTimeInterval(6 * 3600))
        chart.integer = true
        chart.series = [
            .init(
                "drawn", "drawn <line>", style: "s-load", kind: .step,
                points: (0..<72).map { .init(Self.start.addingTimeInterval(Double($0) * 300), Double($0 % 4)) }),
            .init("empty", "never drawn", style: "s-forecast", points: [.init(Self.start, nil)]),
        ]
        chart.windows = [
            .init(
                start: Self.start.addingTimeInterval(3600), end: Self.start.addingTimeInterval(7200), title: "sale",
                style: "w-calendar", legend: "calendar event"),
            .init(
                start: Self.start.addingTimeInterval(-9000), end: Self.start.addingTimeInterval(-8000),
                title: "before", style: "w-overload", legend: "overload"),
        ]
        chart.markers = [.init(time: Self.start.addingTimeInterval(600), value: 2, up: true, title: "1 → 2")]
        return chart
    }

    @Test func theLegendListsOnlyWhatIsDrawn() {
        let svg = chart().svg
        #expect(svg.contains(">drawn &lt;line&gt;</text>"), "labels are escaped")
        #expect(!svg.contains("never drawn"))
        #expect(svg.contains(">calendar event</text>") && !svg.contains(">overload</text>"), "windows outside are not")
        #expect(svg.contains(">scale-up</text>") && !svg.contains(">scale-down</text>"))
        #expect(svg.contains("data-points=\"72\""))
        #expect(svg.components(separatedBy: "class=\"window w-calendar\"").count == 2)
    }

    @Test func timeTicksAreRoundUTCTimes() {
        let svg = chart().svg
        let labels = svg.components(separatedBy: "data-tick=").dropFirst().compactMap {
            $0.split(separator: ">").dropFirst().first?.split(separator: "<").first.map(String.init)
        }
        #expect(labels.count >= 4 && labels.count <= 10, "\(labels)")
        #expect(
            labels.allSatisfy { $0.count == 5 && ($0.hasSuffix(":00") || $0.hasSuffix(":30") || $0.contains("-")) },
            "\(labels)")
        #expect(svg.contains(">instances</text>") && svg.contains(">UTC</text>"))
    }
}
