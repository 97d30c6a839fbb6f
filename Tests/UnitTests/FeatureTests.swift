import Foundation
import Simulation
import Testing

@testable import Forecasting

@Suite("Features")
struct FeatureTests {
    static func table(rows: Int) -> TimeSeriesTable {
        // Monday 2025-09-22 00:00 UTC, 5-minute steps.
        let start = Date(timeIntervalSince1970: 1_758_499_200)
        return TimeSeriesTable(
            timestamps: (0..<rows).map { start.addingTimeInterval(Double($0) * 300) },
            columns: ["value": (0..<rows).map { Float($0 % 7) }], columnNames: ["value"])
    }

    @Test func advancedColumnsForAUnivariateTrace() {
        let (names, derived) = FeatureBuilder.derive(
            .advanced, from: Self.table(rows: 400), target: "value", inputs: nil, events: [])
        #expect(
            names == [
                "value", "hour", "day_of_week", "is_weekend", "is_business_hours", "time_of_day",
                "target_rolling_mean", "target_rolling_std", "target_rolling_min", "target_rolling_max",
                "target_rate_of_change", "sin_day", "cos_day", "sin_week", "cos_week",
            ])
        // Row 110 = 09:10 on Monday: business hours, morning, weekday 0.
        #expect(derived.columns["hour"]![110] == 9)
        #expect(derived.columns["day_of_week"]![110] == 0)
        #expect(derived.columns["is_business_hours"]![110] == 1)
        #expect(derived.columns["time_of_day"]![110] == 1)
        // 30-minute window = 6 rows: values at rows 105…110 are 0,1,2,3,4,5 (row % 7).
        #expect(derived.columns["target_rolling_mean"]![110] == 2.5)
        #expect(derived.columns["target_rolling_min"]![110] == 0)
        #expect(derived.columns["target_rolling_max"]![110] == 5)
        #expect(derived.columns["target_rate_of_change"]![110] == 1)
    }

    @Test func prototypeDataGetsSixteenAdvancedColumnsPlusFourEncodings() {
        let generated = SyntheticGenerator.generate(days: 2, seed: 1)
        let (names, _) = FeatureBuilder.derive(
            .advanced, from: generated, target: "cpu_utilization", inputs: nil, events: [])
        #expect(names.count == 20)
        #expect(names.prefix(4) == ["cpu_utilization", "network_in", "request_count", "is_sale_active"])
    }

    @Test func calendarFeaturesMarkEventsAndCountDown() throws {
        let events = try BusinessCalendar.parse(
            Data(
                """
                [{"name": "sale", "start": "2025-09-22T02:00:00Z", "end": "2025-09-22T03:00:00Z", "multiplier": 3}]
                """.utf8))
        let times = [0, 12, 24, 35, 36].map { Date(timeIntervalSince1970: 1_758_499_200 + Double($0) * 300) }
        let features = BusinessCalendar.features(for: times, events: events, horizonHours: 4)
        #expect(features.active == [0, 0, 1, 1, 0])
        #expect(features.multiplier == [1, 1, 3, 3, 1])
        // 2 h before, 1 h before, then no next event (capped at the horizon = 1).
        #expect(features.untilNext == [0.5, 0.25, 1, 1, 1])
    }

    @Test(
        "bad calendars are rejected",
        arguments: [
            #"{}"#,
            #"[{"name": "x"}]"#,
            #"[{"name": "x", "start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"}]"#,
            #"[{"name": "x", "start": "tomorrow", "end": "2025-01-01T00:00:00Z"}]"#,
        ])
    func badCalendar(text: String) {
        #expect(throws: BusinessCalendar.ParseError.self) { try BusinessCalendar.parse(Data(text.utf8)) }
    }
}

@Suite("Window dataset")
struct WindowDatasetTests {
    @Test func levelNormalisationIsRelativeToTheLastRowsAndAddedBack() {
        // One feature, rows 0…19 with value = row; sequence 4, horizon 2, level over the last 2 rows.
        let values = (0..<20).map(Float.init)
        let data = WindowDataset(
            features: values, targets: values, featureCount: 1, sequenceLength: 4, horizon: 2,
            trainEnd: 14, validationEnd: 17, levelFeatures: [true], targetFeature: 0, levelSpan: 2)
        // Window 10: inputs rows 6…9, level = (8 + 9) / 2 = 8.5, targets rows 10, 11.
        var input: [Float] = []
        var target: [Float] = []
        data.batch([10][...], input: &input, target: &target)
        #expect(input == [-2.5, -1.5, -0.5, 0.5])
        #expect(target == [1.5, 2.5])
        #expect(data.level(10) == 8.5)
        // Splits never straddle a cut: every target of a window lies in its split.
        #expect(data.train.allSatisfy { $0 + 2 <= 14 })
        #expect(data.validation.allSatisfy { $0 >= 14 && $0 + 2 <= 17 })
        #expect(data.test.allSatisfy { $0 >= 17 })
        #expect(data.train.first == 4 && data.test.last == 18)
    }
}

/// The scaler's range is robust: one spike does not squeeze the ordinary values.
@Suite struct RobustScalerTests {
    @Test func oneSpikeDoesNotSqueezeTheRange() {
        var values = (0..<1000).map { Float(50 + $0 % 50) }
        values[500] = 100_000
        let scaler = MinMaxScaler(fitting: values[...], columns: 1)
        #expect(scaler.maximum[0] < 200, "the spike is outside the range: \(scaler.maximum)")
        #expect(scaler.scale(99, column: 0) > 0.9 && scaler.scale(100_000, column: 0) > 1)
    }

    @Test func aRareFlagKeepsItsRange() {
        var values = [Float](repeating: 0, count: 1000)
        values[10] = 1
        let scaler = MinMaxScaler(fitting: values[...], columns: 1)
        #expect(scaler.minimum == [0] && scaler.maximum == [1])
    }
}
