import Foundation
import KubeCore

/// The API server's protobuf envelope decoder (compiled with Sources/APIServer/Protobuf.swift).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtobuf(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? KubeProtobuf.decode(Data(bytes: start, count: count))
    return 0
}
