import Autoscaler
import Forecasting
import Foundation
import PolicyEngine
import Synchronization

/// The traces simulations replay: "seed" (the prototype's generator, 30 days, CPU ×
/// loadScale) or a CSV with a `load`, `value` or `cpu_utilization` column (× loadScale).
/// Thousands of simulated policies replay the same few traces: each is loaded once and its
/// (copy-on-write) arrays shared. The cache is keyed by a tenant's strings (trace, scale), so it is
/// bounded: the `capacity` most recently used, the oldest dropped (a binding keeps its own copy alive).
public enum TraceLibrary {
    public static let capacity = 16
    private static let cache = Mutex<(traces: [String: Trace], order: [String])>(([:], []))

    public static func trace(_ name: String, loadScale: Double) throws -> Trace {
        let key = "\(name)|\(loadScale)"
        if let cached = cache.withLock({ cache -> Trace? in
            guard let trace = cache.traces[key] else { return nil }
            cache.order.removeAll { $0 == key }
            cache.order.append(key)
            return trace
        }) {
            return cached
        }
        let loaded = try load(name, loadScale: loadScale)
        cache.withLock { cache in
            if cache.traces.updateValue(loaded, forKey: key) == nil { cache.order.append(key) }
            while cache.order.count > capacity { cache.traces[cache.order.removeFirst()] = nil }
        }
        return loaded
    }

    /// Traces held now (tests: the cache stays bounded).
    public static var cachedCount: Int { cache.withLock { $0.traces.count } }

    private static func load(_ name: String, loadScale: Double) throws -> Trace {
        let table: TimeSeriesTable
        if name == "seed" {
            table = SyntheticGenerator.generate(days: 30, seed: 42)
        } else {
            do { table = try TimeSeriesTable.load(path: name) } catch { throw TargetError.notFound("\(error)") }
        }
        guard table.count > 2,
            let column = ["load", "value", "cpu_utilization"].first(where: { table.columns[$0] != nil })
        else {
            throw TargetError.notFound("\(name): needs a load, value or cpu_utilization column and at least 3 rows")
        }
        let demand = table.columns[column]!.map { Double($0) * loadScale }
        return Trace(
            start: table.timestamps[0], step: table.timestamps[1].timeIntervalSince(table.timestamps[0]),
            demand: demand, table: table)
    }
}
