import Foundation

/// The prototype's synthetic multi-metric generator: 5-minute steps, a daily sine in CPU,
/// a 24-hour sale on days 5, 10 and 15, Gaussian noise, clipping. Coefficients were fitted
/// to the prototype's own output (examples/data/seed_multi_metric_data.csv): CPU mean 20,
/// amplitude 15 peaking at midnight, noise σ 5, sale +40; network and requests follow CPU.
public enum SyntheticGenerator {
    public static func generate(days: Int, seed: UInt64, start: Date = Date(timeIntervalSince1970: 1_758_392_400))
        -> TimeSeriesTable
    {
        var random = SeededRandom(seed: seed)
        let steps = days * 288
        var timestamps: [Date] = []
        var cpu: [Float] = []
        var network: [Float] = []
        var requests: [Float] = []
        var sale: [Float] = []
        for step in 0..<steps {
            let time = start.addingTimeInterval(Double(step) * 300)
            let hour =
                Float(TimeSeriesTable.utcCalendar.component(.hour, from: time))
                + Float(TimeSeriesTable.utcCalendar.component(.minute, from: time)) / 60
            let day = step / 288 + 1
            let isSale: Float = day % 5 == 0 ? 1 : 0
            let base = 20 + 15 * Foundation.cos(2 * Float.pi * hour / 24) + 40 * isSale
            let value = min(100, max(5, base + 5 * gaussian(&random)))
            timestamps.append(time)
            cpu.append(value)
            network.append(max(20, 22 + 4 * value + 130 * isSale + 30 * gaussian(&random)))
            requests.append(max(100, 110 + 20 * value + 1150 * isSale + 160 * gaussian(&random)))
            sale.append(isSale)
        }
        return TimeSeriesTable(
            timestamps: timestamps,
            columns: [
                "cpu_utilization": cpu, "network_in": network, "request_count": requests, "is_sale_active": sale,
            ],
            columnNames: ["cpu_utilization", "network_in", "request_count", "is_sale_active"]
        )
    }

    /// Box–Muller standard normal.
    static func gaussian(_ random: inout SeededRandom) -> Float {
        let u1 = max(random.unit(), 1e-7)
        let u2 = random.unit()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Float.pi * u2)
    }
}
