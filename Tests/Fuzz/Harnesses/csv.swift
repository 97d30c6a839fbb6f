import Forecasting
import Foundation

/// The CSV reader (traces, training data).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? TimeSeriesTable.parse(
        String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self), path: "fuzz.csv")
    return 0
}
