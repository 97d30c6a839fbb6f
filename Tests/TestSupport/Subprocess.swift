import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The outcome of a finished command.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Child processes through posix_spawn and waitpid. (Foundation's `Process.waitUntilExit`
/// spins a run loop and was seen to hang when called from a Swift Testing task.)
public enum Subprocess {
    /// Runs `executable` (a path, or a name looked up on PATH) with `arguments` to completion.
    @discardableResult
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        input: Data? = nil
    ) throws -> CommandResult {
        let stdin = try Pipe2()
        let stdout = try Pipe2()
        let stderr = try Pipe2()
        let pid = try spawn(executable, arguments, environment: environment, stdin: stdin.read, stdout: stdout.write, stderr: stderr.write)
        close(stdin.read)
        close(stdout.write)
        close(stderr.write)
        let writer = Thread {
            if let input { input.withUnsafeBytes { _ = writeAll(stdin.write, $0) } }
            close(stdin.write)
        }
        writer.start()
        let errorText = Mutex(Data())
        let group = DispatchGroup()
        group.enter()
        Thread {
            errorText.withLock { $0 = readAll(stderr.read) }
            group.leave()
        }.start()
        let outputText = readAll(stdout.read)
        group.wait()
        close(stdout.read)
        close(stderr.read)
        let status = waitForExit(pid)
        return CommandResult(
            status: status,
            stdout: String(decoding: outputText, as: UTF8.self),
            stderr: String(decoding: errorText.withLock { $0 }, as: UTF8.self)
        )
    }

    /// `run` on a dedicated thread, for async tests.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        input: Data? = nil
    ) async throws -> CommandResult {
        try await offload { try run(executable, arguments, environment: environment, input: input) }
    }

    /// Whether `name` is on PATH.
    public static func isAvailable(_ name: String) -> Bool {
        (try? run("sh", ["-c", "command -v \(name) >/dev/null"]).status) == 0
    }

    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String]?, stdin: Int32, stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        var env = ProcessInfo.processInfo.environment
        if let environment { env.merge(environment) { $1 } }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // Children start with no blocked signals and default SIGTERM/SIGINT/SIGPIPE handling:
        // threads of this process (Dispatch's among them) block signals, and posix_spawn
        // would pass that mask on, leaving a child that ignores SIGTERM.
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
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError.failed(executable, result) }
        return pid
    }

    static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
    }

    static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 { data.append(contentsOf: buffer[0..<count]) } else if count < 0 && errno == EINTR { continue } else { break }
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

    public enum SpawnError: Error {
        case failed(String, Int32)
        case pipe(Int32)
    }
}

/// A pipe whose ends are closed on exec.
struct Pipe2 {
    let read: Int32
    let write: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Subprocess.SpawnError.pipe(errno) }
        read = fds[0]
        write = fds[1]
        _ = fcntl(read, F_SETFD, FD_CLOEXEC)
        _ = fcntl(write, F_SETFD, FD_CLOEXEC)
    }
}

/// A long-running peer process (a Python server, moto, …) that prints its port as the
/// first line of stdout. Stopped with SIGTERM by `stop()` (and on deinit).
public final class PeerProcess: Sendable {
    public let pid: pid_t
    public let port: Int
    private let isStopped = Mutex(false)

    /// Starts the peer and waits for its port, off the cooperative pool.
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> PeerProcess {
        try await offload { try PeerProcess(executable, arguments, environment: environment) }
    }

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let stdout = try Pipe2()
        // The peer's stderr goes to a log file, not to ours: a peer that outlived the test
        // process would otherwise hold the test runner's pipe open.
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let log = open(FileManager.default.temporaryDirectory.appendingPathComponent("forescale-peer-\(getpid())-\(UUID().uuidString.prefix(8)).log").path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            close(devNull)
            close(log)
        }
        pid = try Subprocess.spawn(executable, arguments, environment: environment, stdin: devNull, stdout: stdout.write, stderr: log)
        close(stdout.write)
        var line = Data()
        var byte: UInt8 = 0
        while read(stdout.read, &byte, 1) == 1 && byte != UInt8(ascii: "\n") {
            line.append(byte)
        }
        // Keep draining stdout so the peer never blocks on a full pipe.
        let fd = stdout.read
        Thread {
            _ = Subprocess.readAll(fd)
            close(fd)
        }.start()
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)) else {
            kill(pid, SIGKILL)
            _ = Subprocess.waitForExit(pid)
            throw PeerError.noPort(executable, String(decoding: line, as: UTF8.self))
        }
        self.port = port
    }

    public func stop() {
        let wasStopped = isStopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return stopped
        }
        guard !wasStopped else { return }
        kill(pid, SIGTERM)
        // Reap on another thread: the caller may be a cooperative-pool task.
        let pid = self.pid
        Thread { _ = Subprocess.waitForExit(pid) }.start()
    }

    deinit { stop() }

    public enum PeerError: Error {
        case noPort(String, String)
    }
}
