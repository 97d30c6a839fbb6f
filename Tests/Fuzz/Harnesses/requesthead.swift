import Foundation

/// The HTTP/1.1 request-head parser (compiled with Sources/Transport/RequestHead.swift and
/// HTTPHeaders.swift).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    if let head = try? RequestHead.parse(UnsafeBufferPointer(start: start, count: count)) {
        if case .contentLength(let length) = head.framing { precondition(length > 0) }
    }
    return 0
}
