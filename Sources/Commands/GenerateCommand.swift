import Forecasting
import Foundation
import FileIO

enum GenerateCommand: Subcommand {
    static let name = "generate"
    static let summary = "write the prototype's synthetic multi-metric data as CSV"
    static let usage = """
    Usage: forescale generate [--days 15] [--seed 42] --out data.csv

    5-minute steps; columns timestamp, cpu_utilization, network_in, request_count,
    is_sale_active (a 24-hour sale on days 5, 10, 15, …).
    """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let days = try arguments.option("days", default: 15)
        let seed = try arguments.option("seed", default: UInt64(42))
        let out = try arguments.required("out")
        try arguments.finish()
        guard days > 0 && days <= 3650 else { throw UsageError("--days must be between 1 and 3650") }
        let table = SyntheticGenerator.generate(days: days, seed: seed)
        try AtomicFile.write(Data(table.csv().utf8), to: out)
        print("wrote \(table.count) rows to \(out)")
        return ExitCode.success
    }
}
