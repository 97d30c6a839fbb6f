import Foundation

/// The local folders a policy may make the controller read: `file://` model artefacts and
/// simulation traces are opened only when their real path (symlinks resolved) lies under
/// one of these. A policy is written by whoever may create ScalingPolicies, so without
/// roots it cannot probe the controller's file system — and "not allowed" and "not found"
/// are one answer, so it cannot learn whether a path exists either.
public struct FileRoots: Sendable, Equatable {
    public let roots: [String]

    /// No local files at all (the default in a cluster: models come from S3).
    public static let none = FileRoots(resolved: [])

    /// `paths` that exist, by their real paths; the others are ignored.
    public init(_ paths: [String]) {
        self.init(resolved: paths.compactMap(Self.realPath))
    }

    private init(resolved: [String]) {
        roots = resolved
    }

    /// The real path of `path` if it exists under a root, else nil.
    public func resolve(_ path: String) -> String? {
        guard let real = Self.realPath(path) else { return nil }
        return roots.contains { root in real == root || real.hasPrefix(root.hasSuffix("/") ? root : root + "/") }
            ? real : nil
    }

    /// The one error for a path that is outside the roots or missing.
    public func refusal(_ path: String, what: String) -> String {
        roots.isEmpty
            ? "\(what) \(path): local files are not allowed (start the controller with --model-root DIR)"
            : "\(what) \(path): not found under an allowed root (--model-root)"
    }

    static func realPath(_ path: String) -> String? {
        guard !path.isEmpty, let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
