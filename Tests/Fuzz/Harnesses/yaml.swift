import Foundation
import KubeCore

/// The YAML reader (manifests, kubeconfigs, apply-patch bodies): never traps, never
/// recurses past its depth limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    if let documents = try? YAML.parseDocuments(text, maxDepth: 128) {
        for document in documents { precondition(document.depth <= 129, "deeper than the limit") }
    }
    return 0
}
