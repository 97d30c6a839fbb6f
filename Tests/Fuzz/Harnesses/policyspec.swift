import Foundation
import KubeCore
import PolicyEngine

/// ScalingPolicy specs from JSON: every document parses to a spec or to problems naming
/// fields, and a spec that parses can be decided on without trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicySpec(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let json = try? JSONValue(parsing: Data(bytes: start, count: count)) else { return 0 }
    guard case .success(let spec) = PolicySpec.parse(json) else { return 0 }
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    for load in [0.0, 1e300, .greatestFiniteMagnitude] {
        _ = decide(
            DecisionInput(
                now: now, currentCapacity: spec.maxCapacity, currentLoad: load,
                forecast: [ForecastPoint(time: now.addingTimeInterval(spec.stepSeconds), value: load, median: load)]),
            policy: spec)
    }
    return 0
}
