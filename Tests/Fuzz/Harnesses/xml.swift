import Foundation

/// The AWS Query-protocol XML reader (`XMLTree`, compiled in from Sources/Cloud): every
/// parsed tree can be walked.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXML(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    if let tree = try? XMLTree.parse(Data(UnsafeBufferPointer(start: start, count: count))) {
        _ = tree.stringValue
        _ = tree.first(named: "Code")
        _ = tree.elements(path: ["a", "b"])
    }
    return 0
}
