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

/// How a capacity answered a jump: when it first rose above `from`, when it reached `needed`, and every capacity
/// seen on the way (polled every 500 ms for at most `limit`: moto and Prometheus share two cores with the suite).
public struct Reaction: Sendable, CustomStringConvertible {
    public var firstUp: Duration?
    public var reached: Duration?
    public var seen: [Int]

    public static func watch(
        from: Int, to needed: Int, within limit: Duration, _ capacity: () async throws -> Int
    ) async throws -> Reaction {
        let start = ContinuousClock.now
        var reaction = Reaction(seen: [from])
        while ContinuousClock.now - start < limit, reaction.reached == nil {
            let now = try await capacity()
            if reaction.seen.last != now { reaction.seen.append(now) }
            if now > from, reaction.firstUp == nil { reaction.firstUp = ContinuousClock.now - start }
            if now >= needed { reaction.reached = ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(500))
        }
        return reaction
    }

    public var description: String {
        "first scale-up \(firstUp.map { "\($0)" } ?? "none"), needed capacity \(reached.map { "\($0)" } ?? "never"); "
            + "seen \(seen)"
    }
}
