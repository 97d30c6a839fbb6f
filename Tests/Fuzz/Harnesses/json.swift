import Foundation
import KubeCore

/// The JSON parser: any bytes parse or fail with an error; what parses serialises and
/// parses back to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let value = try? JSONValue(parsing: data) else { return 0 }
    guard let again = try? JSONValue(parsing: value.serialized()),
        again == value || value.serialized() == again.serialized()
    else {
        fatalError("round trip changed the value")
    }
    _ = value.depth
    return 0
}
