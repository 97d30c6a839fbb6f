import Foundation

/// Runs blocking work (spawning, waitpid, raw socket reads) on a dedicated thread, so it
/// never occupies one of the few threads of Swift's cooperative pool (two on this machine:
/// blocking them stalls every other test in the process).
public func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try body() })
        }.start()
    }
}

public func offload<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread {
            continuation.resume(returning: body())
        }.start()
    }
}
