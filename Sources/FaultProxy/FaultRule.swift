import Foundation

/// One kind of trouble the proxy can cause.
public enum Fault: Sendable, Equatable, Codable {
    /// Answer with this status instead of forwarding (429 and 503 carry Retry-After when given).
    case status(Int, retryAfterSeconds: Int?)
    /// Forward after this many milliseconds.
    case delay(milliseconds: Int)
    /// Close the connection without answering.
    case reset
    /// Forward, send the head and half of the body, then close the connection.
    case resetMidBody
    /// Forward, announce the whole body (Content-Length) but send only half of it.
    case truncate
    /// A streamed response (a watch) ends after this many milliseconds.
    case dropStream(afterMilliseconds: Int)
    /// Never answer (until the client gives up or the proxy stops).
    case hang
}

/// Which requests a fault applies to, how often, and how many times.
public struct FaultRule: Sendable, Equatable, Codable {
    public var name: String
    /// nil: any method.
    public var method: String?
    /// The request path must start with this ("/" matches everything).
    public var pathPrefix: String
    /// And contain this, when set (e.g. a query parameter such as "watch=true").
    public var contains: String?
    public var fault: Fault
    /// Chance per matching request (drawn from the proxy's seeded generator).
    public var probability: Double
    /// Matching requests let through before the rule starts.
    public var skip: Int
    /// Faults injected at most (nil: no limit).
    public var limit: Int?

    public init(
        name: String, method: String? = nil, pathPrefix: String = "/", contains: String? = nil, fault: Fault,
        probability: Double = 1, skip: Int = 0, limit: Int? = nil
    ) {
        self.name = name
        self.method = method
        self.pathPrefix = pathPrefix
        self.contains = contains
        self.fault = fault
        self.probability = probability
        self.skip = skip
        self.limit = limit
    }

    func matches(method: String, target: String) -> Bool {
        (self.method == nil || self.method == method) && target.hasPrefix(pathPrefix)
            && (contains.map { target.contains($0) } ?? true)
    }
}

/// SplitMix64: a small, fast, seedable generator, so a fault schedule repeats exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
