import Foundation

/// Runs an operation under a deadline: past it the operation's task is cancelled (HTTP transfers stop) and
/// `Deadline.Exceeded` is thrown, whatever the operation was waiting for.
public enum Deadline {
    public struct Exceeded: Error, CustomStringConvertible {
        public var limit: Duration
        public var description: String {
            "the target, metrics and model took longer than \(Int(limit.components.seconds)) s to observe; "
                + "cancelled, and tried again next step"
        }
    }

    private enum Outcome<T: Sendable>: Sendable {
        case finished(T)
        case timedOut
        /// The deadline's own wait was cancelled (the reconcile's task was): the operation decides.
        case waitCancelled
    }

    public static func run<T: Sendable>(within limit: Duration, _ operation: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await withThrowingTaskGroup(of: Outcome<T>.self) { group in
            group.addTask { .finished(try await operation()) }
            group.addTask {
                do { try await Task.sleep(for: limit) } catch { return .waitCancelled }
                return .timedOut
            }
            defer { group.cancelAll() }
            while let outcome = try await group.next() {
                switch outcome {
                case .finished(let value): return value
                case .timedOut: throw Exceeded(limit: limit)
                case .waitCancelled: continue
                }
            }
            throw CancellationError()
        }
    }
}
