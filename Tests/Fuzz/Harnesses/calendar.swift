import Forecasting
import Foundation

/// The business calendar (a ConfigMap's events.json): parses or fails, and what parses
/// can become features without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCalendar(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let events = try? BusinessCalendar.parse(Data(bytes: start, count: count)) else { return 0 }
    let times = (0..<4).map { Date(timeIntervalSince1970: 1_800_000_000 + Double($0) * 3600) }
    _ = BusinessCalendar.features(for: times, events: events)
    return 0
}
