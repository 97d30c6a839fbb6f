import Foundation

/// A bad command line: the message is printed with the command's usage and the tool exits 64.
public struct UsageError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A file that exists but cannot be used: the message names the file; exit 64.
public struct InputFileError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }
    /// The path once, even when the problem came from a layer that named it too.
    public var description: String { problem.hasPrefix(path + ":") ? problem : "\(path): \(problem)" }
}

/// `--name value`, `--name=value` and `--flag` options plus positional words, consumed
/// by name; whatever is left over at the end is reported as unknown.
public struct Arguments {
    private var words: [String]
    private var positionals: [String] = []

    public init(_ words: [String]) {
        self.words = words
    }

    public var wantsHelp: Bool { words.contains("--help") || words.contains("-h") }

    /// Removes and returns `--name`'s value, or nil when absent.
    public mutating func option(_ name: String) throws(UsageError) -> String? {
        let flag = "--\(name)"
        if let index = words.firstIndex(where: { $0.hasPrefix(flag + "=") }) {
            let value = String(words[index].dropFirst(flag.count + 1))
            words.remove(at: index)
            return value
        }
        guard let index = words.firstIndex(of: flag) else { return nil }
        guard index + 1 < words.count, !words[index + 1].hasPrefix("--") else {
            throw UsageError("\(flag) needs a value")
        }
        let value = words[index + 1]
        words.removeSubrange(index...(index + 1))
        return value
    }

    public mutating func option<T: LosslessStringConvertible>(_ name: String, as type: T.Type) throws(UsageError) -> T?
    {
        guard let text = try option(name) else { return nil }
        guard let value = T(text) else { throw UsageError("--\(name): '\(text)' is not a valid \(T.self)") }
        return value
    }

    public mutating func option<T: LosslessStringConvertible>(_ name: String, default value: T) throws(UsageError) -> T
    {
        try option(name, as: T.self) ?? value
    }

    /// Every value of a repeatable `--name`, in order.
    public mutating func options(_ name: String) throws(UsageError) -> [String] {
        var values: [String] = []
        while let value = try option(name) { values.append(value) }
        return values
    }

    /// A missing required option that was probably misspelled is named as the unknown
    /// argument it is (`--dat X`: "unknown argument '--dat' (did you mean --data?)").
    public mutating func required(_ name: String) throws(UsageError) -> String {
        guard let value = try option(name) else {
            if let typo = words.first(where: {
                $0.hasPrefix("--") && Self.isNear(String($0.dropFirst(2).prefix { $0 != "=" }), name)
            }) {
                throw UsageError("unknown argument '\(typo)' (did you mean --\(name)?)")
            }
            throw UsageError("--\(name) is required")
        }
        return value
    }

    /// Within two edits (insertions, deletions, substitutions) of each other.
    static func isNear(_ a: String, _ b: String) -> Bool {
        let a = Array(a)
        let b = Array(b)
        guard abs(a.count - b.count) <= 2, !a.isEmpty else { return false }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where j <= b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count] <= 2
    }

    /// Removes `--name` and reports whether it was present.
    public mutating func flag(_ name: String) -> Bool {
        let flag = "--\(name)"
        guard let index = words.firstIndex(of: flag) else { return false }
        words.remove(at: index)
        return true
    }

    /// Removes and returns the next word that is not an option.
    public mutating func positional() -> String? {
        guard let index = words.firstIndex(where: { !$0.hasPrefix("-") }) else { return nil }
        return words.remove(at: index)
    }

    /// Fails on anything not consumed.
    public func finish() throws(UsageError) {
        if let first = words.first { throw UsageError("unknown argument '\(first)'") }
    }
}
