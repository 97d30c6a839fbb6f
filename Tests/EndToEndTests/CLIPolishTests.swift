import Foundation
import TestSupport
import Testing

/// The command line reads like a finished tool: aligned tables, sorted quantiles, progress
/// with a total and an ETA, warnings instead of silent surprises, each path once, exit 64
/// for every usage or file problem, unknown flags named.
@Suite struct CLIPolishTests {
    static let nab = Fixtures.root.appendingPathComponent("examples/data/ec2_cpu_utilization_825cc2.csv").path

    @Test func theBacktestTableIsAligned() async throws {
        let result = try await ForescaleBinary.run([
            "backtest", "--trace", "seed", "--compare", "reactive,threshold", "--start-step", "8400",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("policy ") }) else {
            Issue.record("no table in \(result.stdout)")
            return
        }
        let table = Array(lines[header...header + 2])
        #expect(
            Set(table.map(\.count)).count == 1, "every row as wide as the header:\n\(table.joined(separator: "\n"))")
        // Right-aligned numbers: each column's last character sits in the same place.
        let ends = table.map { line in
            line.indices.filter {
                line[$0] != " " && (line.index(after: $0) == line.endIndex || line[line.index(after: $0)] == " ")
            }.map { line.distance(from: line.startIndex, to: $0) }
        }
        #expect(ends.dropFirst().allSatisfy { Array($0.suffix(5)) == Array(ends[0].suffix(5)) }, "\(table)")
        #expect(!result.stdout.contains("wrote "), "it writes no model file")
    }

    @Test func quantileForecastsAreSortedAndRounded() async throws {
        let result = try await ForescaleBinary.run([
            "predict", "--model", Fixtures.root.appendingPathComponent("Models/ec2-825cc2-load.fsm").path,
            "--data", try Self.loadCSV(),
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").first.map(String.init))
        #expect(line.range(of: #"p50=\d+\.\d{3} p90=\d+\.\d{3}$"#, options: .regularExpression) != nil, "\(line)")
    }

    /// The NAB trace with its value column named load (what the model reads).
    static func loadCSV() throws -> String {
        let directory = try TemporaryDirectory()
        let text = try String(contentsOfFile: nab, encoding: .utf8)
        let path = directory.file("load.csv")
        try text.replacingOccurrences(of: "timestamp,value", with: "timestamp,load").write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func trainingShowsItsProgressAndWarnsAboutMissingColumns() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let seed = try String(
            contentsOf: Fixtures.root.appendingPathComponent("examples/data/seed_multi_metric_data.csv"),
            encoding: .utf8)
        // Drop is_sale_active: three of the prototype's four columns.
        let rows = seed.split(separator: "\n").prefix(1500).map {
            $0.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",")
        }
        try rows.joined(separator: "\n").appending("\n").write(
            toFile: directory.file("three.csv"), atomically: true, encoding: .utf8)
        let result = try await ForescaleBinary.run([
            "train", "--data", directory.file("three.csv"), "--epochs", "2", "--hidden", "8", "--layers", "1", "--head",
            "8",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: ") && result.stderr.contains("is_sale_active"), "\(result.stderr)")
        #expect(result.stdout.contains("epoch   1/2") && result.stdout.contains("ETA"), "\(result.stdout)")
        #expect(result.stdout.contains("* marks an epoch with the best validation loss"), "the marker is explained")
    }

    @Test(
        arguments: [
            (
                [
                    "backtest", "--trace",
                    Fixtures.root.appendingPathComponent("examples/data/elb_request_count_8c0756.csv").path,
                ], "--capacity-per-instance"
            ),
            (["backtest", "--trace", "nosuch.csv"], "nosuch.csv: "),
            (["generate", "--out", "/nonexistent/x.csv"], "/nonexistent/x.csv: cannot write"),
            (["demo", "--duration", "-5"], "--duration must be a positive"),
            (["train", "--dat", "x.csv"], "unknown argument '--dat' (did you mean --data?)"),
            (["backtest", "--trace", "seed", "--slo", "0"], "--slo"),
            (["backtest", "--trace", "seed", "--warmup", "-1"], "--warmup"),
            (["backtest", "--trace", "seed", "--lead", "1e300"], "leadTimeSeconds: must be between 0 and 86400"),
            (["demo", "--speed", "nan"], "--speed"),
        ] as [([String], String)])
    func usageAndFileProblemsExit64(_ arguments: [String], _ message: String) async throws {
        let result = try await ForescaleBinary.run(arguments)
        #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        #expect(!result.stderr.contains(".tmp-"), "no temporary file names")
        if let path = arguments.first(where: { $0.hasSuffix(".csv") }) {
            #expect(result.stderr.components(separatedBy: path + ":").count <= 2, "the path once: \(result.stderr)")
        }
    }
}

/// A folder sweep over traces as they come: a gap is filled (and said), a trace too short to
/// replay is named with its reason and skipped, the rest are replayed, and the exit status
/// says something was skipped.
@Suite struct TraceSweepTests {
    static func write(_ path: String, rows: [Int], value: (Int) -> Double) throws {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        var text = "timestamp,value\n"
        for row in rows {
            text += "\(formatter.string(from: start.addingTimeInterval(Double(row) * 300))),\(value(row))\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func aSweepSkipsWhatItCannotReplayAndSaysSo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daily = { (row: Int) in 40 + 15 * sin(2 * Double.pi * Double(row) / 288) }
        try Self.write(directory.file("a-regular.csv"), rows: Array(0..<500), value: daily)
        try Self.write(
            directory.file("b-gappy.csv"), rows: (0..<500).filter { !(200..<240).contains($0) }, value: daily)
        try Self.write(directory.file("c-short.csv"), rows: Array(0..<60), value: daily)
        let result = try await ForescaleBinary.run(["backtest", "--traces", directory.path])
        #expect(result.status == 64, "\(result.stdout)\n\(result.stderr)")
        #expect(
            result.stderr.contains("b-gappy.csv: 40 missing rows at 5 min filled by linear interpolation"),
            "\(result.stderr)")
        #expect(result.stderr.contains("c-short.csv: skipped: too short to backtest (60 rows)"), "\(result.stderr)")
        #expect(result.stdout.contains("a-regular.csv (utilisation × 2): "), "\(result.stdout)")
        #expect(result.stdout.contains("b-gappy.csv (utilisation × 2): "), "\(result.stdout)")
        #expect(result.stdout.contains("aggregate over 2 traces"), "\(result.stdout)")
        #expect(result.stdout.contains("skipped 1: c-short.csv"), "\(result.stdout)")
    }

    /// Values far beyond a utilisation are a usage message, whatever their size.
    @Test func aTraceOfHugeValuesIsAMessage() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("huge.csv")
        try Self.write(path, rows: Array(0..<200), value: { _ in 1e20 })
        let result = try await ForescaleBinary.run(["backtest", "--trace", path])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("values reach 1e+20, more than a utilisation"), "\(result.stderr)")
    }
}
