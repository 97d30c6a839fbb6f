/// Polls `check` until it holds or `limit` passes; true if it held. Tests wait for what
/// they test this way, with a limit far beyond what a quiet machine needs: on two loaded
/// cores the same step can take many times longer, and the loop ends as soon as it holds.
public func eventually(
    within limit: Duration = .seconds(60), every interval: Duration = .milliseconds(100),
    _ check: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while true {
        if try await check() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: interval)
    }
}
