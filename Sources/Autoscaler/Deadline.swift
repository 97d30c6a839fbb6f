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

    public static func run<T: Sendable>(within limit: Duration, _ operation: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw Exceeded(limit: limit) }
            return value
        }
    }
}
