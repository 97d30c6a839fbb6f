import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a kubeconfig `exec` credential plugin (client.authentication.k8s.io/v1 or v1beta1)
/// and caches its token until `expirationTimestamp` (a minute early). This is how EKS users
/// authenticate (`aws eks get-token`).
public final class ExecCredentialProvider: Sendable {
    public enum ExecError: Error, Equatable, CustomStringConvertible {
        case launchFailed(String, reason: String)
        case failed(command: String, status: Int32, stderr: String)
        case badOutput(command: String, detail: String)

        public var description: String {
            switch self {
            case .launchFailed(let command, let reason): "cannot run credential plugin '\(command)': \(reason)"
            case .failed(let command, let status, let stderr): "credential plugin '\(command)' exited \(status): \(stderr.prefix(300))"
            case .badOutput(let command, let detail): "credential plugin '\(command)' printed no usable ExecCredential: \(detail)"
            }
        }
    }

    let config: ExecConfig
    let now: @Sendable () -> Date
    private let cached = Mutex<(token: String, expires: Date?)?>(nil)

    public init(config: ExecConfig, now: @escaping @Sendable () -> Date = { Date() }) {
        self.config = config
        self.now = now
    }

    /// The bearer token, running the plugin only when the cached one is missing or expiring.
    public func token() async throws -> String {
        if let entry = cached.withLock({ $0 }), entry.expires.map({ $0.timeIntervalSince(now()) > 60 }) ?? true {
            return entry.token
        }
        let output = try await run()
        guard let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
              let status = object["status"] as? [String: Any], let token = status["token"] as? String, !token.isEmpty else {
            throw ExecError.badOutput(command: config.command, detail: "no status.token")
        }
        let formatter = ISO8601DateFormatter()
        let expires = (status["expirationTimestamp"] as? String).flatMap { formatter.date(from: $0) }
        cached.withLock { $0 = (token, expires) }
        return token
    }

    /// Runs the plugin on its own thread (it blocks) with KUBERNETES_EXEC_INFO set.
    private func run() async throws -> Data {
        let config = self.config
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try Self.runBlocking(config) })
            }.start()
        }
    }

    static func runBlocking(_ config: ExecConfig) throws -> Data {
        var environment = ProcessInfo.processInfo.environment.merging(config.environment) { $1 }
        environment["KUBERNETES_EXEC_INFO"] = #"{"apiVersion":"\#(config.apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}"#
        var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw ExecError.launchFailed(config.command, reason: "no pipes") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        for fd in [out[0], out[1], err[0], err[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        let argv = ([config.command] + config.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
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
        var spawned = posix_spawnp(&pid, config.command, &actions, &attributes, argv, envp)
        // ETXTBSY: another thread's child briefly holds a write descriptor of a plugin file
        // that was just written; the exec succeeds once it is gone.
        var attempts = 0
        while spawned == ETXTBSY && attempts < 50 {
            attempts += 1
            usleep(10_000)
            spawned = posix_spawnp(&pid, config.command, &actions, &attributes, argv, envp)
        }
        close(out[1])
        close(err[1])
        guard spawned == 0 else {
            close(out[0])
            close(err[0])
            throw ExecError.launchFailed(config.command, reason: String(cString: strerror(spawned)))
        }
        let errorData = Mutex(Data())
        let reader = DispatchGroup()
        reader.enter()
        let errorFD = err[0]
        Thread {
            errorData.withLock { $0 = readAll(errorFD) }
            reader.leave()
        }.start()
        let output = readAll(out[0])
        reader.wait()
        close(out[0])
        close(err[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        guard exitCode == 0 else {
            throw ExecError.failed(command: config.command, status: exitCode, stderr: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
        }
        return output
    }

    private static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 { data.append(contentsOf: buffer[0..<count]) } else if count < 0 && errno == EINTR { continue } else { break }
        }
        return data
    }
}
