import Autoscaler
import Forecasting
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

    /// The trainer's per-policy wall time (`--policy-seconds`): training stops after the epoch that ends past
    /// it, keeping the best epoch so far, however many epochs were asked for.
    @Test func trainingStopsAtItsWallTime() throws {
        let rows = 400
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let table = TimeSeriesTable(
            timestamps: (0..<rows).map { now.addingTimeInterval(Double($0 - rows) * 300) },
            columns: ["load": (0..<rows).map { Float(100 + 30 * sin(Double($0) / 20)) }], columnNames: ["load"])
        var recipe = TrainingRecipe.controller(
            horizon: 3, hasCalendar: false, hidden: 4, epochs: 1000, wallTimeLimit: .zero)
        recipe.workers = 1
        let outcome = try Training.run(table: table, targetColumn: "load", recipe: recipe, createdAt: now)
        #expect(outcome.epochs == 1)
    }
}
