import Forecasting
import Foundation

/// The CSV reader (traces, training data) and the grid every load puts it on.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    if let table = try? TimeSeriesTable.parse(
        String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self), path: "fuzz.csv")
    {
        _ = try? table.regularized()
        _ = try? table.regularized(step: 300, lastRows: 48)
    }
    return 0
}
