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
    /// Answer as AWS's query APIs fail: this status with an XML ErrorResponse of this code
    /// (`Throttling` is what Auto Scaling says when it throttles).
    case aws(status: Int, code: String)
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

extension FaultRule {
    /// The rule as JSON for the control endpoint and rule files: `fault` is written
    /// `status:429:60` (code, Retry-After seconds), `status:500`, `delay:250` (ms), `reset`,
    /// `resetMidBody`, `truncate`, `dropStream:1000` (ms) or `hang`.
    public var json: [String: Any] {
        var object: [String: Any] = [
            "name": name, "pathPrefix": pathPrefix, "fault": fault.text, "probability": probability, "skip": skip,
        ]
        if let method { object["method"] = method }
        if let contains { object["contains"] = contains }
        if let limit { object["limit"] = limit }
        return object
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(json object: [String: Any]) throws(ParseError) {
        guard let name = object["name"] as? String, !name.isEmpty, name.utf8.count <= 128 else {
            throw ParseError(description: "a rule needs a name (at most 128 bytes)")
        }
        guard let text = object["fault"] as? String, let fault = Fault(text: text) else {
            throw ParseError(
                description:
                    "rule \(name): fault must be status:CODE[:RETRY_AFTER], delay:MS, reset, resetMidBody, truncate, dropStream:MS or hang"
            )
        }
        let probability = (object["probability"] as? NSNumber)?.doubleValue ?? 1
        guard probability.isFinite, (0...1).contains(probability) else {
            throw ParseError(description: "rule \(name): probability must be in [0, 1]")
        }
        let skip = (object["skip"] as? NSNumber)?.intValue ?? 0
        let limit = (object["limit"] as? NSNumber)?.intValue
        guard skip >= 0, (limit ?? 0) >= 0 else {
            throw ParseError(description: "rule \(name): skip and limit are ≥ 0")
        }
        self.init(
            name: name, method: object["method"] as? String, pathPrefix: object["pathPrefix"] as? String ?? "/",
            contains: object["contains"] as? String, fault: fault, probability: probability, skip: skip, limit: limit)
    }
}

extension Fault {
    var text: String {
        switch self {
        case .status(let code, let retryAfter): return "status:\(code)" + (retryAfter.map { ":\($0)" } ?? "")
        case .delay(let milliseconds): return "delay:\(milliseconds)"
        case .reset: return "reset"
        case .resetMidBody: return "resetMidBody"
        case .truncate: return "truncate"
        case .dropStream(let milliseconds): return "dropStream:\(milliseconds)"
        case .hang: return "hang"
        case .aws(let status, let code): return "aws:\(status):\(code)"
        }
    }

    init?(text: String) {
        let parts = text.split(separator: ":").map(String.init)
        func number(_ index: Int, _ range: ClosedRange<Int>) -> Int? {
            guard parts.count > index, let value = Int(parts[index]), range.contains(value) else { return nil }
            return value
        }
        switch parts.first {
        case "status":
            guard let code = number(1, 100...599), parts.count <= 3 else { return nil }
            let retryAfter = parts.count == 3 ? number(2, 0...86_400) : nil
            if parts.count == 3, retryAfter == nil { return nil }
            self = .status(code, retryAfterSeconds: retryAfter)
        case "delay":
            guard let value = number(1, 0...600_000), parts.count == 2 else { return nil }
            self = .delay(milliseconds: value)
        case "dropStream":
            guard let value = number(1, 0...86_400_000), parts.count == 2 else { return nil }
            self = .dropStream(afterMilliseconds: value)
        case "aws":
            guard let status = number(1, 400...599), parts.count == 3, !parts[2].isEmpty, parts[2].utf8.count <= 64,
                parts[2].allSatisfy({ $0.isLetter || $0.isNumber })
            else { return nil }
            self = .aws(status: status, code: parts[2])
        case "reset" where parts.count == 1: self = .reset
        case "resetMidBody" where parts.count == 1: self = .resetMidBody
        case "truncate" where parts.count == 1: self = .truncate
        case "hang" where parts.count == 1: self = .hang
        default: return nil
        }
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
