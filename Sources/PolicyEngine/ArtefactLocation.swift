import AWSSigning
import Foundation

/// A model artefact's address, parsed: `s3://bucket/key` (bucket and key by S3's grammars) or
/// `file:///absolute/path` (no empty, `.` or `..` segments). Its `description` is the one spelling of it, so
/// a cache keyed by it holds one copy however a tenant spells the URL, and a location never climbs out of
/// the prefix a rule allows.
public enum ArtefactURL: Sendable, Hashable, CustomStringConvertible {
    case s3(bucket: String, key: String)
    case file(path: String)

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public init(parsing text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(description: "\(text.prefix(200)): \(reason)") }
        guard text.utf8.count <= 2048 else { throw fail("longer than 2048 bytes") }
        if text.hasPrefix("s3://") {
            let location = text.dropFirst("s3://".count)
            guard let slash = location.firstIndex(of: "/") else { throw fail("an S3 artefact is s3://bucket/key") }
            let bucket = String(location[..<slash])
            let key = String(location[location.index(after: slash)...])
            guard AWSNames.isBucketName(bucket) else {
                throw fail("'\(bucket.prefix(80))' is not an S3 bucket name (3–63 of a-z 0-9 . -)")
            }
            guard AWSNames.isObjectKey(key) else {
                throw fail("the key must be 1–1024 bytes without empty, . or .. segments or control characters")
            }
            self = .s3(bucket: bucket, key: key)
        } else if text.hasPrefix("file://") {
            let path = String(text.dropFirst("file://".count))
            guard path.hasPrefix("/"), AWSNames.isObjectKey(String(path.dropFirst())) else {
                throw fail("a file artefact is file:///absolute/path without empty, . or .. segments")
            }
            self = .file(path: path)
        } else {
            throw fail("artefacts are s3://bucket/key or file:///path URLs")
        }
    }

    public var description: String {
        switch self {
        case .s3(let bucket, let key): "s3://\(bucket)/\(key)"
        case .file(let path): "file://\(path)"
        }
    }
}

/// A place artefacts may be read from or written to: a bucket and a key prefix, or a directory.
/// `s3://bucket/prefix/` holds every key that starts with `prefix/`; `file:///dir/` every file below `/dir/`.
public struct ArtefactLocation: Sendable, Hashable, CustomStringConvertible {
    public enum Store: Sendable, Hashable {
        case s3(bucket: String)
        case file
    }

    public let store: Store
    /// Ends with "/" unless empty (a whole bucket).
    public let prefix: String

    public init(parsing text: String) throws(ArtefactURL.ParseError) {
        func fail(_ reason: String) -> ArtefactURL.ParseError {
            ArtefactURL.ParseError(description: "\(text.prefix(200)): \(reason)")
        }
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed.hasPrefix("s3://"), !trimmed.dropFirst(5).contains("/") {
            let bucket = String(trimmed.dropFirst(5))
            guard AWSNames.isBucketName(bucket) else { throw fail("'\(bucket.prefix(80))' is not an S3 bucket name") }
            store = .s3(bucket: bucket)
            prefix = ""
            return
        }
        switch try ArtefactURL(parsing: trimmed) {
        case .s3(let bucket, let key):
            store = .s3(bucket: bucket)
            prefix = key + "/"
        case .file(let path):
            store = .file
            prefix = path + "/"
        }
    }

    public func contains(_ url: ArtefactURL) -> Bool {
        switch (store, url) {
        case (.s3(let bucket), .s3(let urlBucket, let key)): bucket == urlBucket && key.hasPrefix(prefix)
        case (.file, .file(let path)): path.hasPrefix(prefix)
        default: false
        }
    }

    /// `<location><namespace>/<name>/model.fsm`: where the trainer keeps a policy's champion. Namespace and
    /// name are Kubernetes names (DNS labels and subdomains), so the result is a plain key.
    public func artefact(namespace: String, name: String) -> ArtefactURL {
        let key = "\(prefix)\(namespace)/\(name)/model.fsm"
        switch store {
        case .s3(let bucket): return .s3(bucket: bucket, key: key)
        case .file: return .file(path: key)
        }
    }

    /// The location of one namespace's derived artefacts, or of one policy's (`name`) within it.
    public func area(namespace: String, name: String? = nil) -> ArtefactLocation {
        ArtefactLocation(store: store, prefix: "\(prefix)\(namespace)/" + (name.map { "\($0)/" } ?? ""))
    }

    private init(store: Store, prefix: String) {
        self.store = store
        self.prefix = prefix
    }

    public var description: String {
        switch store {
        case .s3(let bucket): "s3://\(bucket)/\(prefix)"
        case .file: "file://\(prefix)"
        }
    }
}
