import ChildProcess
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

/// Commands for tests, on top of the library's `ChildProcess`.
public enum Subprocess {
    /// Runs `executable` (a path, or a name looked up on PATH) with `arguments` to completion;
    /// `environment` adds to (and overrides) this process's environment.
    @discardableResult
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        input: Data? = nil
    ) throws -> CommandResult {
        let output = try ChildProcess.run(
            executable, arguments, environment: mergedEnvironment(environment), input: input)
        return CommandResult(
            status: output.status, stdout: String(decoding: output.stdout, as: UTF8.self),
            stderr: String(decoding: output.stderr, as: UTF8.self))
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

    static func mergedEnvironment(_ extra: [String: String]?) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(extra ?? [:]) { $1 }
    }
}

/// A long-running peer process (a Python server, moto, …) that prints its port on a line
/// of stdout. Stopped with SIGTERM by `stop()` (and on deinit).
public final class PeerProcess: Sendable {
    public let pid: pid_t
    public let port: Int
    private let isStopped = Mutex(false)

    /// Starts the peer and waits for its port, off the cooperative pool.
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        port parsePort: @escaping @Sendable (String) -> Int? = { Int($0.trimmingCharacters(in: .whitespaces)) }
    ) async throws -> PeerProcess {
        try await offload { try PeerProcess(executable, arguments, environment: environment, port: parsePort) }
    }

    /// `parsePort` reads the port from the first stdout line it accepts (default: a line that is the port).
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        port parsePort: (String) -> Int? = { Int($0.trimmingCharacters(in: .whitespaces)) }
    ) throws {
        let stdout = try ChildProcess.Pipe(executable)
        // The peer's stderr goes to a log file, not to ours: a peer that outlived the test
        // process would otherwise hold the test runner's pipe open.
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let log = open(
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "forescale-peer-\(getpid())-\(UUID().uuidString.prefix(8)).log"
            ).path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            close(devNull)
            close(log)
        }
        pid = try ChildProcess.spawn(
            executable, arguments, environment: Subprocess.mergedEnvironment(environment), stdin: devNull,
            stdout: stdout.write, stderr: log)
        close(stdout.write)
        // The first line `parsePort` accepts (a peer may print a banner first).
        var seen = ""
        var found: Int?
        var line = Data()
        var byte: UInt8 = 0
        while found == nil, read(stdout.read, &byte, 1) == 1 {
            if byte == UInt8(ascii: "\n") {
                let text = String(decoding: line, as: UTF8.self)
                seen += text + "\n"
                found = parsePort(text)
                line.removeAll()
            } else {
                line.append(byte)
            }
        }
        // Keep draining stdout so the peer never blocks on a full pipe.
        let fd = stdout.read
        Thread {
            _ = ChildProcess.readAll(fd)
            close(fd)
        }.start()
        guard let port = found else {
            kill(pid, SIGKILL)
            _ = ChildProcess.waitForExit(pid)
            throw PeerError.noPort(executable, seen + String(decoding: line, as: UTF8.self))
        }
        self.port = port
    }

    /// SIGKILL, as a crash would end it.
    public func kill9() {
        isStopped.withLock { $0 = true }
        kill(pid, SIGKILL)
        _ = ChildProcess.waitForExit(pid)
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
        Thread { _ = ChildProcess.waitForExit(pid) }.start()
    }

    deinit { stop() }

    public enum PeerError: Error {
        case noPort(String, String)
    }
}

/// A command started in the background, its output collected into files: for tests that
/// must act while it runs (a `kill -9` at a chosen moment).
public final class BackgroundProcess: Sendable {
    public let pid: pid_t
    private let stdoutPath: String
    private let stderrPath: String

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent(
            "forescale-bg-\(getpid())-\(UUID().uuidString.prefix(8))"
        ).path
        stdoutPath = base + ".out"
        stderrPath = base + ".err"
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let out = open(stdoutPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let err = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer {
            close(devNull)
            close(out)
            close(err)
        }
        pid = try ChildProcess.spawn(
            executable, arguments, environment: Subprocess.mergedEnvironment(environment), stdin: devNull, stdout: out,
            stderr: err)
    }

    /// SIGKILL (as a crash ends a process), then the result.
    public func kill9() async -> CommandResult {
        kill(pid, SIGKILL)
        return await wait()
    }

    /// What it has printed on stdout so far.
    public var stdoutSoFar: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// Polls stdout until `condition` holds on it or `timeout` passes; returns the last read.
    public func waitForStdout(timeout: Duration = .seconds(30), _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var seen = stdoutSoFar
        while !condition(seen) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            seen = stdoutSoFar
        }
        return seen
    }

    /// SIGTERM, then the result.
    public func terminate() async -> CommandResult {
        kill(pid, SIGTERM)
        return await wait()
    }

    /// Waits for the exit (off the cooperative pool) and reads what it printed.
    public func wait() async -> CommandResult {
        let pid = self.pid
        let status = await offload { ChildProcess.waitForExit(pid) }
        let stdout = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
        return CommandResult(status: status, stdout: stdout, stderr: stderr)
    }
}
