import Autoscaler
import Foundation
import Testing

/// A reconcile's observation runs under a deadline: a source that does not answer is cancelled and
/// reported; the reconcile's own cancellation is the operation's to answer, never a timeout.
@Suite struct DeadlineTests {
    @Test func anOperationPastTheDeadlineIsCancelledAndReported() async throws {
        let started = ContinuousClock.now
        await #expect(throws: Deadline.Exceeded.self) {
            try await Deadline.run(within: .milliseconds(200)) {
                try await Task.sleep(for: .seconds(600))
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(60), "the hung operation was cancelled, not awaited")
        #expect(try await Deadline.run(within: .seconds(60)) { 7 } == 7)
    }

    @Test func theCallersCancellationIsNotATimeout() async throws {
        let task = Task {
            try await Deadline.run(within: .seconds(600)) { () async throws -> Int in
                // An operation that finishes its work whatever happens to its caller.
                try? await Task.sleep(for: .milliseconds(300))
                return 42
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        #expect(try await task.value == 42)
    }
}
