import Foundation
import Synchronization

/// What the API server has been answering this client: when a call last succeeded, since
/// when every call has failed, and the failures by kind (for a periodic log line). Answers
/// such as NotFound or Conflict are the server working; throttling, server errors, broken
/// connections and rejected credentials are not. The controller's probes read it, so
/// `/readyz` stops claiming ready while nothing gets through and `/healthz` fails when the
/// credentials keep being refused (a restart re-reads them).
public final class APIHealth: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var lastSuccess: Date?
        /// The first failure since the last success (nil: the last call succeeded).
        public var failingSince: Date?
        /// The first refusal of the credentials since the last success, while the latest
        /// failure is still one (other failures in between — a timeout — do not reset it).
        public var unauthorizedSince: Date?
        public var lastFailure: String?

        /// Every call since `seconds` ago failed and the credentials are still being refused.
        public var onlyUnauthorized: Bool { unauthorizedSince != nil }
    }

    private struct State {
        var snapshot = Snapshot()
        var counts: [String: Int] = [:]
        var lastMessages: [String: String] = [:]
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    func succeeded() {
        let at = now()
        state.withLock {
            $0.snapshot.lastSuccess = at
            $0.snapshot.failingSince = nil
            $0.snapshot.unauthorizedSince = nil
        }
    }

    /// Records `error` when it says the server (or the way to it) is not working.
    func failed(_ error: KubeError) {
        guard let kind = Self.kind(error) else {
            succeeded()
            return
        }
        let at = now()
        state.withLock {
            if $0.snapshot.failingSince == nil { $0.snapshot.failingSince = at }
            if kind == "Unauthorized" {
                if $0.snapshot.unauthorizedSince == nil { $0.snapshot.unauthorizedSince = at }
            } else if kind != "Transport" {
                // Another answer from the server: it accepts the credentials after all.
                $0.snapshot.unauthorizedSince = nil
            }
            $0.snapshot.lastFailure = "\(kind): \(error.description.prefix(200))"
            $0.counts[kind, default: 0] += 1
            $0.lastMessages[kind] = String(error.description.prefix(200))
        }
    }

    /// Failures by kind since the last call, with the latest message of each.
    public func takeFailures() -> [(kind: String, count: Int, message: String)] {
        state.withLock { state in
            defer {
                state.counts = [:]
                state.lastMessages = [:]
            }
            return state.counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value, state.lastMessages[$0.key] ?? "") }
        }
    }

    /// Nothing has got through for `seconds` (false while calls succeed or before any fails).
    public func failing(for seconds: TimeInterval) -> Bool {
        guard let since = snapshot.failingSince else { return false }
        return now().timeIntervalSince(since) >= seconds
    }

    static func kind(_ error: KubeError) -> String? {
        switch error {
        case .unauthorized: return "Unauthorized"
        case .forbidden: return nil
        case .tooManyRequests: return "Throttled"
        case .server: return "ServerError"
        case .transport: return "Transport"
        case .decoding: return "BadResponse"
        case .configuration: return "Credentials"
        default: return nil
        }
    }
}
