import Foundation
import PolicyEngine
import Testing

/// The one scorer of the backtest, the comparison and the dashboard.
@Suite struct ScorecardTests {
    @Test func intervalsOverloadsAndInstanceHours() {
        var score = Scorecard(slo: 80)
        score.interval(load: 160, inService: 2, paid: 2, seconds: 300)  // 80 % each: at the SLO, not over it
        score.interval(load: 161, inService: 2, paid: 3, seconds: 300)  // over, while a third instance warms up
        score.interval(load: 50, inService: 0, paid: 1, seconds: 600)  // nothing in service: counted as one
        score.interval(load: nil, inService: 0, paid: 1, seconds: 300)  // no load known: never an overload
        #expect(score.intervals == 4)
        #expect(score.overloadIntervals == 1)
        let expected: Double = (600 + 900 + 600 + 300) / 3600
        #expect(abs(score.instanceHours - expected) < 1e-12)
        #expect(score.coverage == nil && score.meanBandWidth == nil)
    }

    @Test func coverageAndBandWidth() {
        var score = Scorecard()
        score.forecast(100, band: 80...120, outcome: 100)  // at the forecast: covered
        score.forecast(100, band: 90...110, outcome: 100.5)
        score.forecast(50, outcome: 10)  // no band: counts for coverage only
        score.forecast(50, band: 40...70, outcome: 49)
        #expect(score.forecastsChecked == 4 && score.forecastsCovered == 3)
        #expect(score.coverage == 0.75)
        let width: Double = 90 / 3
        #expect(score.meanBandWidth == width)
        #expect(!score.isOverloaded(load: 1e9, inService: 1), "a scorecard of forecasts only has no overloads")
    }
}
