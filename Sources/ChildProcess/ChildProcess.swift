import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Child processes through posix_spawn and waitpid — for exec credential plugins and the
/// tests' peers. (Foundation's `Process.waitUntilExit` spins a run loop and was seen to
/// hang when called from a Swift concurrency task.)
public enum ChildProcess {
    public struct SpawnError: Error, Equatable, CustomStringConvertible {
        public var executable: String
        public var reason: String
        public var description: String { "cannot run '\(executable)': \(reason)" }
    }

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
    }

    /// The path of `name` on PATH, if it is there and executable.
    public static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Starts `executable` (a path, or a name looked up on PATH) with the given descriptors as
    /// its stdin, stdout and stderr and exactly `environment`.
    ///
    /// Children start with no blocked signals and default SIGTERM/SIGINT/SIGPIPE/SIGHUP:
    /// threads of this process (Dispatch's among them) block signals, and posix_spawn would
    /// pass that mask on, leaving a child that ignores SIGTERM. ETXTBSY (a just-written
    /// executable whose write descriptor another thread's child briefly holds) is retried.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String],
        stdin: Int32, stdout: Int32, stderr: Int32
    ) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for item in argv { free(item) }
            for item in envp { free(item) }
        }
        var pid: pid_t = 0
        var result = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        var attempts = 0
        while result == ETXTBSY && attempts < 50 {
            attempts += 1
            usleep(10_000)
            result = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        }
        guard result == 0 else { throw SpawnError(executable: executable, reason: String(cString: strerror(result))) }
        return pid
    }

    /// Runs to completion, feeding `input` to stdin and collecting stdout and stderr
    /// (drained concurrently so a chatty child never blocks on a full pipe). Blocking.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], input: Data? = nil
    ) throws(SpawnError) -> Output {
        let stdin = try Pipe(executable)
        let stdout = try Pipe(executable)
        let stderr = try Pipe(executable)
        let pid: pid_t
        do {
            pid = try spawn(
                executable, arguments, environment: environment, stdin: stdin.read, stdout: stdout.write,
                stderr: stderr.write)
        } catch {
            for item in [stdin.read, stdin.write, stdout.read, stdout.write, stderr.read, stderr.write] { close(item) }
            throw error
        }
        close(stdin.read)
        close(stdout.write)
        close(stderr.write)
        let inputFD = stdin.write
        Thread {
            if let input { input.withUnsafeBytes { _ = writeAll(inputFD, $0) } }
            close(inputFD)
        }.start()
        let errorData = Mutex(Data())
        let group = DispatchGroup()
        group.enter()
        let errorFD = stderr.read
        Thread {
            errorData.withLock { $0 = readAll(errorFD) }
            group.leave()
        }.start()
        let output = readAll(stdout.read)
        group.wait()
        close(stdout.read)
        close(stderr.read)
        return Output(status: waitForExit(pid), stdout: output, stderr: errorData.withLock { $0 })
    }

    /// The exit status, or 128 + the signal that ended the child.
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
    }

    public static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return data
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if count > 0 { offset += count } else if count < 0 && errno == EINTR { continue } else { return false }
        }
        return true
    }

    /// A pipe whose ends are closed on exec (the child gets them only through dup2).
    public struct Pipe {
        public let read: Int32
        public let write: Int32

        public init(_ executable: String = "") throws(SpawnError) {
            var fds: [Int32] = [0, 0]
            guard Glibc.pipe(&fds) == 0 else {
                throw SpawnError(executable: executable, reason: "no pipe: \(String(cString: strerror(errno)))")
            }
            read = fds[0]
            write = fds[1]
            _ = fcntl(read, F_SETFD, FD_CLOEXEC)
            _ = fcntl(write, F_SETFD, FD_CLOEXEC)
        }
    }
}
