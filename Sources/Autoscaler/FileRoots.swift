import Foundation

/// The local folders a policy may make the controller read: `file://` model artefacts and
/// simulation traces are opened only when their real path (symlinks resolved) lies under
/// one of these. A policy is written by whoever may create ScalingPolicies, so without
/// roots it cannot probe the controller's file system — and "not allowed" and "not found"
/// are one answer, so it cannot learn whether a path exists either.
///
/// A root may be mounted at another path, as a container mounts a volume: `/models=./Models`
/// makes `file:///models/x.fsm` (what the image and the examples name) read `./Models/x.fsm`.
public struct FileRoots: Sendable, Equatable {
    public let roots: [String]
    /// Path prefix → the real directory it stands for (each also a root).
    public let mounts: [String: String]

    /// No local files at all (the default in a cluster: models come from S3).
    public static let none = FileRoots(resolved: [], mounts: [:])

    /// `paths` that exist, by their real paths; the others are ignored. A path written
    /// `PREFIX=DIR` (PREFIX absolute) mounts DIR at PREFIX.
    public init(_ paths: [String]) {
        var roots: [String] = []
        var mounts: [String: String] = [:]
        for path in paths {
            if path.hasPrefix("/"), let equals = path.firstIndex(of: "="),
                let directory = Self.realPath(String(path[path.index(after: equals)...]))
            {
                let prefix = String(path[..<equals])
                mounts[prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix] = directory
                roots.append(directory)
            } else if let real = Self.realPath(path) {
                roots.append(real)
            }
        }
        self.init(resolved: roots, mounts: mounts)
    }

    private init(resolved: [String], mounts: [String: String]) {
        roots = resolved
        self.mounts = mounts
    }

    /// The real path of `path` (through a mount) if it exists under a root, else nil.
    public func resolve(_ path: String) -> String? {
        var path = path
        for (prefix, directory) in mounts where path == prefix || path.hasPrefix(prefix + "/") {
            path = directory + path.dropFirst(prefix.count)
            break
        }
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
