import ChildProcess
import Foundation
import KubeCore
import Synchronization

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
            case .failed(let command, let status, let stderr):
                "credential plugin '\(command)' exited \(status): \(stderr.prefix(300))"
            case .badOutput(let command, let detail):
                "credential plugin '\(command)' printed no usable ExecCredential: \(detail)"
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
        guard let credential = try? JSONValue(parsing: output),
            let token = credential.value(at: ["status", "token"])?.stringValue, !token.isEmpty
        else {
            throw ExecError.badOutput(command: config.command, detail: "no status.token")
        }
        let expires = credential.value(at: ["status", "expirationTimestamp"])?.stringValue.flatMap(Timestamps.parse)
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
        environment["KUBERNETES_EXEC_INFO"] =
            #"{"apiVersion":"\#(config.apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}"#
        let output: ChildProcess.Output
        do {
            output = try ChildProcess.run(config.command, config.arguments, environment: environment)
        } catch {
            throw ExecError.launchFailed(config.command, reason: error.reason)
        }
        guard output.status == 0 else {
            throw ExecError.failed(
                command: config.command, status: output.status, stderr: String(decoding: output.stderr, as: UTF8.self))
        }
        return output.stdout
    }
}
