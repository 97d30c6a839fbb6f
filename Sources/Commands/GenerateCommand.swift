import FileIO
import Forecasting
import Foundation

enum GenerateCommand: Subcommand {
    static let name = "generate"
    static let summary = "write the prototype's synthetic multi-metric data as CSV"
    static let usage = """
        Usage: forescale generate [--days 15] [--seed 42] --out data.csv
                                  [--load-scale S] [--calendar-out events.json]

        5-minute steps; columns timestamp, cpu_utilization, network_in, request_count,
        is_sale_active (a 24-hour sale on days 5, 10, 15, …).
        --load-scale S writes timestamp,load instead: capacity-independent load = CPU × S
        (the CPU of S instances), what the controller's models forecast.
        --calendar-out writes the sale days as a calendar (events.json for the ConfigMap).
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let days = try arguments.option("days", default: 15)
        let seed = try arguments.option("seed", default: UInt64(42))
        let out = try arguments.required("out")
        let loadScale = try arguments.option("load-scale", as: Float.self)
        let calendarOut = try arguments.option("calendar-out")
        try arguments.finish()
        guard days > 0 && days <= 3650 else { throw UsageError("--days must be between 1 and 3650") }
        var table = SyntheticGenerator.generate(days: days, seed: seed)
        if let calendarOut {
            let events = BusinessCalendar.events(
                timestamps: table.timestamps, flags: table.columns["is_sale_active"]!, step: 300, prefix: "sale-day",
                multiplier: 2.9)
            try AtomicFile.write(BusinessCalendar.encode(events), to: calendarOut)
        }
        if let loadScale {
            guard loadScale > 0 else { throw UsageError("--load-scale must be positive") }
            table = TimeSeriesTable(
                timestamps: table.timestamps,
                columns: ["load": table.columns["cpu_utilization"]!.map { $0 * loadScale }], columnNames: ["load"])
        }
        try AtomicFile.write(Data(table.csv().utf8), to: out)
        print("wrote \(table.count) rows to \(out)")
        return ExitCode.success
    }
}
