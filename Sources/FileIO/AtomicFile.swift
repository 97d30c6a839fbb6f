import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes files the safe way: a temporary file in the same directory, fsync, rename, then
/// fsync of the directory — a reader sees the old file or the new one, never a torn one.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var problem: String
        public var description: String { "\(path): \(problem)" }
    }

    /// Files holding secrets (state, kubeconfigs, keys) pass `secretMode`: the file has its
    /// final permissions from the first byte (no window in which others may read it).
    public static let secretMode: mode_t = 0o600

    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws(WriteError) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = "\(directory)/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        // The message names the file asked for, not the temporary one beside it.
        guard fd >= 0 else {
            throw WriteError(path: path, problem: "cannot write: \(String(cString: strerror(errno)))")
        }
        let written = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let count = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return false }
                offset += count
            }
            return true
        }
        // The umask may have narrowed `mode`; it never widens it.
        let synced = fsync(fd) == 0
        close(fd)
        guard written && synced else {
            unlink(temporary)
            throw WriteError(path: path, problem: "write failed: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let problem = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(path: path, problem: "rename failed: \(problem)")
        }
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Creates `path` (and missing parents) as a private directory (0700), or narrows an
    /// existing one to 0700.
    public static func createPrivateDirectory(_ path: String) throws(WriteError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw WriteError(path: path, problem: "cannot create the directory: \(error.localizedDescription)")
        }
        guard chmod(path, 0o700) == 0 else {
            throw WriteError(
                path: path, problem: "cannot make the directory private: \(String(cString: strerror(errno)))")
        }
    }

    /// A new private directory with an unpredictable name (`mkdtemp`): `prefix` + six random characters.
    public static func makeTemporaryDirectory(prefix: String) throws(WriteError) -> String {
        var template = Array((prefix + "XXXXXX").utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw WriteError(path: prefix + "XXXXXX", problem: "mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        return String(cString: created)
    }
}
