import Autoscaler
import Forecasting
import Foundation
import Simulation
import TestSupport
import Testing

/// Series with missing rows, blank values, jittered or finer timestamps are put on a regular
/// grid before any model reads rows as steps.
@Suite struct RegularizationTests {
    static let origin = Date(timeIntervalSince1970: 1_700_000_000)

    static func table(_ times: [Double], _ values: [Float], name: String = "value") -> TimeSeriesTable {
        TimeSeriesTable(
            timestamps: times.map { origin.addingTimeInterval($0) }, columns: [name: values], columnNames: [name])
    }

    @Test func aRegularTableIsUsedAsItIs() throws {
        let regular = Self.table((0..<10).map { Double($0) * 300 }, (0..<10).map(Float.init))
        let (table, regularity) = try regular.regularized()
        #expect(table.timestamps == regular.timestamps && table.columns == regular.columns)
        #expect(
            regularity.step == 300 && regularity.filledRows == 0 && regularity.missingValues == 0
                && regularity.longestGap == 300)
        #expect(regularity.note == nil)
    }

    @Test func missingRowsAreFilledOnTheMedianStep() throws {
        // Rows 3, 4 and 5 are missing: 0 1 2 _ _ _ 6 7 8 9.
        let rows = [0, 1, 2, 6, 7, 8, 9]
        let gappy = Self.table(rows.map { Double($0) * 300 }, rows.map { Float($0) * 10 })
        let (table, regularity) = try gappy.regularized()
        #expect(table.count == 10)
        #expect(table.timestamps == (0..<10).map { Self.origin.addingTimeInterval(Double($0) * 300) })
        #expect(table.columns["value"] == (0..<10).map { Float($0) * 10 }, "linear across the gap")
        #expect(regularity.filledRows == 3 && regularity.longestGap == 1200)
        #expect(regularity.note == "3 missing rows at 5 min filled by linear interpolation (longest gap 20 min)")
    }

    @Test func blankAndNaNFieldsAreInterpolated() throws {
        let csv = """
            timestamp,value,other
            2024-01-01 00:00:00,10,1
            2024-01-01 00:05:00,,2
            2024-01-01 00:10:00,NaN,3
            2024-01-01 00:15:00,40,
            2024-01-01 00:20:00,50,5
            """
        let (table, regularity) = try TimeSeriesTable.parse(csv).regularized()
        #expect(table.columns["value"] == [10, 20, 30, 40, 50])
        #expect(table.columns["other"] == [1, 2, 3, 4, 5])
        #expect(regularity.missingValues == 3 && regularity.filledRows == 0)
        // "inf" is not a missing marker: still a bad number.
        #expect(throws: TimeSeriesTable.ParseError.self) {
            try TimeSeriesTable.parse("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,inf\n")
        }
    }

    @Test func jitteredTimestampsLandOnAGridAnchoredAtTheLastSample() throws {
        let jitter: [Double] = [0, 7, -4, 12, 0, -9, 3, 0]
        let jittered = Self.table(
            jitter.enumerated().map { Double($0.offset) * 300 + $0.element }, (0..<8).map { _ in 5 })
        let (table, regularity) = try jittered.regularized(step: 300)
        #expect(table.count == 8)
        #expect(table.timestamps.last == jittered.timestamps.last)
        #expect(zip(table.timestamps.dropFirst(), table.timestamps).allSatisfy { $0.timeIntervalSince($1) == 300 })
        #expect(table.columns["value"]!.allSatisfy { $0 == 5 })
        #expect(regularity.filledRows == 0, "every grid time has a sample within half a step")
    }

    @Test func finerDataIsSampledAtTheModelsStep() throws {
        // One-minute samples of a ramp, read at five minutes.
        let fine = Self.table((0...60).map { Double($0) * 60 }, (0...60).map(Float.init))
        let (table, _) = try fine.regularized(step: 300)
        #expect(table.count == 13)
        #expect(table.columns["value"] == (0...12).map { Float($0 * 5) })
    }

    @Test func onlyTheRecentRowsAreBuiltWhenAsked() throws {
        let rows = (0..<1000).filter { $0 != 995 }
        let long = Self.table(rows.map { Double($0) * 60 }, rows.map(Float.init))
        let (table, regularity) = try long.regularized(step: 60, lastRows: 10)
        #expect(table.count == 10)
        #expect(table.columns["value"] == (990..<1000).map(Float.init))
        #expect(regularity.filledRows == 1)
    }

    @Test func hostileShapesAreErrorsNotAllocations() throws {
        // Two rows a century apart at one second: 3 billion rows refused before allocation.
        let wide = Self.table([0, 100 * 365 * 86_400], [1, 2])
        #expect(throws: TimeSeriesTable.ParseError.self) { try wide.regularized(step: 1) }
        #expect(throws: TimeSeriesTable.ParseError.self) { try wide.regularized(step: .nan) }
        #expect(throws: TimeSeriesTable.ParseError.self) { try wide.regularized(step: 0) }
        // Times from a metrics source are not trusted to be finite or in order.
        #expect(throws: TimeSeriesTable.ParseError.self) { try Self.table([0, .infinity], [1, 2]).regularized() }
        #expect(throws: TimeSeriesTable.ParseError.self) { try Self.table([600, 0], [1, 2]).regularized(step: 300) }
        #expect(try Self.table([0, 900, 300, 600], [0, 3, 1, 2]).regularized(step: 300).0.count == 3)
        // 300,001 rows are allowed, but not with 100 columns (30 million values).
        let names = (0..<100).map { "c\($0)" }
        let broad = TimeSeriesTable(
            timestamps: [Self.origin, Self.origin.addingTimeInterval(300 * 300_000)],
            columns: Dictionary(uniqueKeysWithValues: names.map { ($0, [Float(1), 2]) }), columnNames: names)
        #expect(throws: TimeSeriesTable.ParseError.self) { try broad.regularized(step: 300) }
        #expect(try broad.regularized(step: 300, lastRows: 1000).0.count == 1000)
        let empty = Self.table([0, 300, 600], [.nan, .nan, .nan])
        #expect {
            try empty.regularized()
        } throws: { error in
            (error as? TimeSeriesTable.ParseError)?.problem == "column 'value' has no values"
        }
    }

    /// A missed scrape within the last day: the seasonal forecast still reads the row a day
    /// before each step (read as rows, every row before the gap would move by one).
    @Test func aMissingSampleDoesNotShiftTheSeason() throws {
        let trace = try TraceLibrary.trace("seed", loadScale: 1)
        var artefact = try ModelArtefact.load(path: Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path)
        artefact.serve(.seasonalNaive)
        let forecaster = Forecaster(artefact)
        let rows = 3000..<4000
        let full = TimeSeriesTable(
            timestamps: Array(trace.table.timestamps[rows]),
            columns: ["load": Array(trace.demand[rows].map(Float.init))],
            columnNames: ["load"])
        var gappy = full
        let missing = full.count - 100
        gappy.timestamps.remove(at: missing)
        gappy.columns["load"]!.remove(at: missing)
        let expected = try forecaster.forecast(full)
        let forecast = try forecaster.forecast(gappy)
        #expect(forecast == expected)
        #expect(forecast.first?.values.first == full.columns["load"]![full.count - 288])
    }
}

extension ModelArtefact {
    /// As if the selection had chosen `kind` (a day's season at five minutes), with no
    /// residual offsets: its forecasts are the kind's point forecasts.
    mutating func serve(_ kind: StatisticalModel.Kind) {
        header.selection = ModelSelection(
            served: kind.rawValue, quantile: 0.8, scores: [:], origins: 0,
            statistical: StatisticalModel(
                kind: kind, season: 288, parameters: [], quantiles: header.quantiles,
                residualQuantiles: [[Float]](
                    repeating: [Float](repeating: 0, count: header.quantiles.count), count: header.horizon)))
    }
}
