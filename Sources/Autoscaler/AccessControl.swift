import Foundation
import Glibc
import PolicyEngine
import Synchronization

/// The access rules in force: fixed, or read from the operator's file (a mounted ConfigMap) and read again
/// when it changes, so a rule is added without a restart. A file that becomes unreadable or invalid keeps
/// the rules last read (and says so once per change in `problem`): a typo never opens, and never closes,
/// what was in force.
public final class AccessControl: Sendable {
    private struct State {
        var rules: AccessRules
        var stamp: FileStamp?
        var generation: Int
        var problem: String?
    }

    /// What stat(2) says of the file, following symlinks (a mounted ConfigMap's file is a link that
    /// kubelet moves to a new directory on each update).
    private struct FileStamp: Equatable {
        var device: UInt64
        var inode: UInt64
        var modifiedNanoseconds: Int
        var size: Int
    }

    private let path: String?
    private let state: Mutex<State>

    /// Rules that never change (tests, the demo's own rules).
    public init(rules: AccessRules) {
        path = nil
        state = Mutex(State(rules: rules, stamp: nil, generation: 0))
    }

    /// The rules in `path`; an unreadable or invalid file is an error at start.
    public init(path: String) throws(AccessRules.ParseError) {
        self.path = path
        let (rules, stamp) = try Self.read(path)
        state = Mutex(State(rules: rules, stamp: stamp, generation: 0))
    }

    /// Nothing allowed beyond what needs no rule.
    public static var closed: AccessControl { AccessControl(rules: .closed) }

    /// The rules now, after looking whether the file changed (a stat per call).
    public var rules: AccessRules {
        refresh()
        return state.withLock { $0.rules }
    }

    /// Counts reloads: a binding built under older rules is rebuilt.
    public var generation: Int { state.withLock { $0.generation } }

    /// Why the file in force is not the file on disk, if it is not.
    public var problem: String? { state.withLock { $0.problem } }

    private func refresh() {
        guard let path else { return }
        let stamp = Self.stamp(path)
        guard stamp != state.withLock({ $0.stamp }) else { return }
        do {
            let (rules, stamp) = try Self.read(path)
            state.withLock {
                if $0.rules != rules { $0.generation += 1 }
                $0.rules = rules
                $0.stamp = stamp
                $0.problem = nil
            }
        } catch {
            state.withLock {
                $0.stamp = stamp
                $0.problem = "\(error); the rules read before stay in force"
            }
        }
    }

    private static func stamp(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileStamp(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
            modifiedNanoseconds: info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec, size: Int(info.st_size))
    }

    private static func read(_ path: String) throws(AccessRules.ParseError) -> (AccessRules, FileStamp?) {
        let stamp = stamp(path)
        guard let size = stamp?.size, size <= AccessRules.maxFileBytes,
            let data = FileManager.default.contents(atPath: path)
        else {
            throw AccessRules.ParseError(
                path: path, problem: "cannot read the file (or it is larger than \(AccessRules.maxFileBytes) bytes)")
        }
        return (try AccessRules.parse(data, path: path), stamp)
    }
}

extension AccessControl {
    /// Every namespace may read models below `roots` (by their real paths and their mount prefixes) and
    /// nothing else: what the demo, the benches and tests that load local models give their controller.
    public static func readingModels(under roots: FileRoots) -> AccessControl {
        let locations = (roots.roots + roots.mounts.keys).map { "file://" + $0 }
        return AccessControl(rules: (try? AccessRules.readingModels(from: locations)) ?? .closed)
    }
}
