import Autoscaler
import CLI
import Commands
import Foundation
import KubeCore
import PolicyEngine
import Simulation
import Synchronization
import Transport

/// The capacity of simulated targets, kept outside the controllers (`forescale simulator`),
/// so every controller replica sees one world — as a real Auto Scaling group or Deployment
/// is one world — and a failover changes nothing. It is also the independent ledger of a
/// soak: every capacity change is recorded here, by the target side, in an append-only file
/// (a JSON line each, fsynced before the answer), with the action id the controller sent,
/// the identity that sent it, the previous capacity and the receive time. An action id seen
/// before on the same target is not applied again (and is recorded as a duplicate attempt).
///
/// A metrics gap (a window in which the target reports no load) can be set per target or
/// for all, to test what the controller does with stale data.
///
/// Routes: `GET /v1/targets/{ns}/{name}` (changes and gaps), `POST /v1/targets/{ns}/{name}/capacity`
/// (`{"capacity", "time", "actionId", "identity"}`), `POST /v1/gaps` (`{"target"?, "start",
/// "end"}`), `GET /v1/ledger`, `GET /healthz`.
public final class SimulatorService: Sendable {
    public struct Entry: Sendable, Equatable {
        public var sequence: Int
        public var target: String
        /// The (virtual) time the controller acted at.
        public var time: Date
        public var from: Int?
        public var capacity: Int
        public var actionID: String
        public var identity: String
        /// Wall time the simulator received it.
        public var received: Date
        /// The action id had been applied before: this attempt changed nothing.
        public var duplicate: Bool

        var json: JSONValue {
            [
                "seq": .integer(Int64(sequence)), "target": .string(target),
                "time": .string(Timestamps.formatMicro(time)),
                "from": from.map { .integer(Int64($0)) } ?? .null, "capacity": .integer(Int64(capacity)),
                "actionId": .string(actionID), "identity": .string(identity),
                "received": .string(Timestamps.formatMicro(received)), "duplicate": .bool(duplicate),
            ]
        }

        init(
            sequence: Int, target: String, time: Date, from: Int?, capacity: Int, actionID: String, identity: String,
            received: Date, duplicate: Bool
        ) {
            self.sequence = sequence
            self.target = target
            self.time = time
            self.from = from
            self.capacity = capacity
            self.actionID = actionID
            self.identity = identity
            self.received = received
            self.duplicate = duplicate
        }

        public init?(json: JSONValue) {
            guard let sequence = json["seq"]?.intValue, let target = json["target"]?.stringValue,
                let time = json["time"]?.stringValue.flatMap(Timestamps.parse),
                let capacity = json["capacity"]?.intValue, let actionID = json["actionId"]?.stringValue,
                let received = json["received"]?.stringValue.flatMap(Timestamps.parse)
            else { return nil }
            self.init(
                sequence: sequence, target: target, time: time, from: json["from"]?.intValue, capacity: capacity,
                actionID: actionID, identity: json["identity"]?.stringValue ?? "", received: received,
                duplicate: json["duplicate"]?.boolValue ?? false)
        }
    }

    public struct Gap: Sendable, Equatable {
        /// nil: every target.
        public var target: String?
        public var start: Date
        public var end: Date

        public init(target: String?, start: Date, end: Date) {
            self.target = target
            self.start = start
            self.end = end
        }
    }

    private struct State {
        var entries: [Entry] = []
        /// "target|actionId" of every applied change (ids are unique per target, not globally).
        var applied: Set<String> = []
        var gaps: [Gap] = []
        var ledger: FileHandle?
    }

    private let state: Mutex<State>
    private let server = Mutex<HTTPServer?>(nil)
    /// Targets at most, and entries at most (a ledger is a test's, not a database).
    static let maxTargets = 100_000
    static let maxEntries = 10_000_000

    /// `ledgerPath`: the append-only file; an existing one is replayed (a restart keeps the world).
    public init(ledgerPath: String?) throws {
        var state = State()
        if let ledgerPath {
            if let data = FileManager.default.contents(atPath: ledgerPath) {
                for line in data.split(separator: UInt8(ascii: "\n")) {
                    // A torn last line (a crash mid-write) is dropped: it was never acknowledged.
                    guard let value = try? JSONValue(parsing: Data(line)) else { continue }
                    if let entry = Entry(json: value) {
                        state.entries.append(entry)
                        if !entry.duplicate { state.applied.insert("\(entry.target)|\(entry.actionID)") }
                    } else if let start = value["gapStart"]?.stringValue.flatMap(Timestamps.parse),
                        let end = value["gapEnd"]?.stringValue.flatMap(Timestamps.parse)
                    {
                        state.gaps.append(Gap(target: value["gapTarget"]?.stringValue, start: start, end: end))
                    }
                }
            } else {
                guard
                    FileManager.default.createFile(
                        atPath: ledgerPath, contents: nil, attributes: [.posixPermissions: 0o600])
                else { throw SimulatorError("\(ledgerPath): cannot create the ledger") }
            }
            guard let handle = FileHandle(forWritingAtPath: ledgerPath) else {
                throw SimulatorError("\(ledgerPath): cannot open the ledger for writing")
            }
            handle.seekToEndOfFile()
            state.ledger = handle
        }
        self.state = Mutex(state)
    }

    public struct SimulatorError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The changes applied to `target`, oldest first, and the metrics gaps that apply to it.
    public func target(_ target: String) -> (changes: [Entry], gaps: [Gap]) {
        state.withLock { state in
            (
                state.entries.filter { $0.target == target && !$0.duplicate },
                state.gaps.filter { $0.target == nil || $0.target == target }
            )
        }
    }

    public var entries: [Entry] { state.withLock { $0.entries } }

    /// Applies (or, for an action id seen before, records without applying) a capacity change.
    @discardableResult
    public func setCapacity(target: String, capacity: Int, time: Date, actionID: String, identity: String) throws
        -> Entry
    {
        try state.withLock { state in
            guard state.entries.count < Self.maxEntries else { throw SimulatorError("the ledger is full") }
            let duplicate = state.applied.contains("\(target)|\(actionID)")
            let from = state.entries.last { $0.target == target && !$0.duplicate }?.capacity
            let entry = Entry(
                sequence: state.entries.count + 1, target: target, time: time, from: from, capacity: capacity,
                actionID: actionID, identity: identity, received: Date(), duplicate: duplicate)
            try Self.append(entry.json, to: state.ledger)
            state.entries.append(entry)
            if !duplicate { state.applied.insert("\(target)|\(actionID)") }
            return entry
        }
    }

    public func addGap(_ gap: Gap) throws {
        try state.withLock { state in
            var record: JSONValue = [
                "gapStart": .string(Timestamps.formatMicro(gap.start)),
                "gapEnd": .string(Timestamps.formatMicro(gap.end)),
            ]
            if let target = gap.target { record["gapTarget"] = .string(target) }
            try Self.append(record, to: state.ledger)
            state.gaps.append(gap)
        }
    }

    private static func append(_ record: JSONValue, to handle: FileHandle?) throws {
        guard let handle else { return }
        var line = record.serialized()
        line.append(UInt8(ascii: "\n"))
        do {
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw SimulatorError("cannot append to the ledger: \(error)")
        }
    }

    // MARK: HTTP

    public func start(address: String = "127.0.0.1", port: Int = 0) throws -> Int {
        var router = Router()
        router.add("GET", "/healthz") { _, writer in writer.respond(status: 200, contentType: "text/plain", body: "ok")
        }
        router.add("GET", "/v1/targets/{namespace}/{name}") { [self] request, writer in
            let key = "\(request.pathParameters["namespace"] ?? "")/\(request.pathParameters["name"] ?? "")"
            let (changes, gaps) = target(key)
            Self.respond(
                writer, 200,
                [
                    "changes": .array(
                        changes.map {
                            [
                                "time": .string(Timestamps.formatMicro($0.time)),
                                "capacity": .integer(Int64($0.capacity)),
                                "actionId": .string($0.actionID),
                            ]
                        }),
                    "gaps": .array(
                        gaps.map {
                            [
                                "start": .string(Timestamps.formatMicro($0.start)),
                                "end": .string(Timestamps.formatMicro($0.end)),
                            ]
                        }),
                ])
        }
        router.add("POST", "/v1/targets/{namespace}/{name}/capacity") { [self] request, writer in
            let key = "\(request.pathParameters["namespace"] ?? "")/\(request.pathParameters["name"] ?? "")"
            guard let body = try? JSONValue(parsing: request.body), let capacity = body["capacity"]?.intValue,
                (0...1_000_000).contains(capacity), let time = body["time"]?.stringValue.flatMap(Timestamps.parse),
                let actionID = body["actionId"]?.stringValue, !actionID.isEmpty, actionID.utf8.count <= 256
            else {
                return Self.respond(writer, 400, ["error": "need capacity (0…1000000), time (RFC 3339) and actionId"])
            }
            do {
                let entry = try setCapacity(
                    target: key, capacity: capacity, time: time, actionID: actionID,
                    identity: String((body["identity"]?.stringValue ?? "").prefix(256)))
                Self.respond(writer, 200, ["applied": .bool(!entry.duplicate), "seq": .integer(Int64(entry.sequence))])
            } catch {
                Self.respond(writer, 503, ["error": .string("\(error)")])
            }
        }
        router.add("POST", "/v1/gaps") { [self] request, writer in
            guard let body = try? JSONValue(parsing: request.body),
                let start = body["start"]?.stringValue.flatMap(Timestamps.parse),
                let end = body["end"]?.stringValue.flatMap(Timestamps.parse), end > start
            else { return Self.respond(writer, 400, ["error": "need start < end (RFC 3339)"]) }
            do {
                try addGap(Gap(target: body["target"]?.stringValue, start: start, end: end))
                Self.respond(writer, 200, ["ok": true])
            } catch {
                Self.respond(writer, 503, ["error": .string("\(error)")])
            }
        }
        router.add("GET", "/v1/ledger") { [self] _, writer in
            Self.respond(writer, 200, ["entries": .array(entries.map(\.json))])
        }
        let http = HTTPServer(
            configuration: HTTPServer.Configuration(
                address: address, port: port, maxBodyBytes: 16 * 1024, idleTimeout: .seconds(90), maxConnections: 512),
            handler: router.handler)
        let bound = try http.start()
        server.withLock { $0 = http }
        return bound
    }

    public func shutdown() {
        server.withLock { $0 }?.shutdown(gracePeriod: .milliseconds(200))
        state.withLock { try? $0.ledger?.close() }
    }

    private static func respond(_ writer: ResponseWriter, _ status: Int, _ body: JSONValue) {
        writer.respond(status: status, headers: ["Content-Type": "application/json"], body: body.serialized())
    }
}

/// A simulated target whose capacity lives in a `SimulatorService`: the demand is replayed
/// here from the trace (every replica computes the same), the capacity changes are read from
/// and written to the simulator, so all replicas act on one world. Each pass reads it once
/// (capacity and load history share the read).
public final class RemoteSimulatedTarget: ScalingTarget, MetricsSource {
    let base: SimulatedTarget
    let key: String
    let url: String
    let identity: String
    let http: HTTPClient
    public let timeShift: TimeInterval
    private let cache = Mutex<(at: ContinuousClock.Instant, value: SimulatedTarget, gaps: [SimulatorService.Gap])?>(nil)

    public init(
        base: SimulatedTarget, timeShift: TimeInterval, key: String, url: String, identity: String, http: HTTPClient
    ) {
        self.base = base
        self.timeShift = timeShift
        self.key = key
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.identity = identity
        self.http = http
    }

    private func world() async throws -> (SimulatedTarget, [SimulatorService.Gap]) {
        if let cached = cache.withLock({ $0 }), ContinuousClock.now - cached.at < .milliseconds(500) {
            return (cached.value, cached.gaps)
        }
        let response: HTTPResponse
        do {
            response = try await http.execute(HTTPRequest(url: "\(url)/v1/targets/\(key)", timeout: .seconds(10)))
        } catch {
            throw TargetError.notFound("simulator \(url): \(error)")
        }
        guard response.status == 200, let body = try? JSONValue(parsing: response.body) else {
            throw TargetError.notFound("simulator \(url): HTTP \(response.status)")
        }
        var value = base
        for change in body["changes"]?.arrayValue ?? [] {
            guard let time = change["time"]?.stringValue.flatMap(Timestamps.parse),
                let capacity = change["capacity"]?.intValue
            else { continue }
            value.setCapacity(capacity, at: time)
        }
        let gaps = (body["gaps"]?.arrayValue ?? []).compactMap { gap -> SimulatorService.Gap? in
            guard let start = gap["start"]?.stringValue.flatMap(Timestamps.parse),
                let end = gap["end"]?.stringValue.flatMap(Timestamps.parse)
            else { return nil }
            return SimulatorService.Gap(target: key, start: start, end: end)
        }
        cache.withLock { $0 = (ContinuousClock.now, value, gaps) }
        return (value, gaps)
    }

    public func capacity(at now: Date) async throws -> CapacityState { try await world().0.capacity(at: now) }

    public func loadHistory(until now: Date, steps: Int) async throws -> [LoadSample] {
        let (value, gaps) = try await world()
        return value.loadHistory(until: now, steps: steps).filter { sample in
            !gaps.contains { sample.time >= $0.start && sample.time < $0.end }
        }
    }

    public func setCapacity(_ capacity: Int, at now: Date, actionID: String) async throws {
        cache.withLock { $0 = nil }
        let body: JSONValue = [
            "capacity": .integer(Int64(capacity)), "time": .string(Timestamps.formatMicro(now)),
            "actionId": .string(actionID), "identity": .string(identity),
        ]
        let response: HTTPResponse
        do {
            response = try await http.execute(
                HTTPRequest(
                    method: "POST", url: "\(url)/v1/targets/\(key)/capacity",
                    headers: ["Content-Type": "application/json"], body: body.serialized(), timeout: .seconds(10)))
        } catch {
            throw TargetError.notFound("simulator \(url): \(error)")
        }
        guard response.status == 200 else {
            throw TargetError.notFound(
                "simulator \(url): HTTP \(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self))"
            )
        }
    }
}

/// The simulation with its capacity kept in a shared `forescale simulator` (`--simulator-url`): every controller
/// replica acts on one world. A trace as metrics beside a real target stays local (nothing to share).
public struct SharedSimulationPlugin: TargetPlugin {
    let local: SimulationPlugin
    let url: String
    let identity: String
    let http = HTTPClient(configuration: .init(maxConnectionsPerHost: 16))
    /// Replayed metrics answer fast checks (the soak exercises the fast path under its faults).
    let liveSamples: Bool

    public init(anchor: Date, url: String, identity: String, liveSamples: Bool = false) {
        local = SimulationPlugin(anchor: anchor)
        self.url = url
        self.identity = identity
        self.liveSamples = liveSamples
    }

    public func binding(namespace: String, spec: PolicySpec, target: (any ScalingTarget)?, fileRoots: FileRoots) throws
        -> TargetRegistry.Binding
    {
        guard target == nil else {
            let binding = try local.binding(namespace: namespace, spec: spec, target: target, fileRoots: fileRoots)
            return TargetRegistry.Binding(target: binding.target, metrics: live(binding.metrics))
        }
        let replay = try SimulationPlugin.checkedTarget(spec: spec, anchor: local.anchor, fileRoots: fileRoots)
        let remote = RemoteSimulatedTarget(
            base: replay.target, timeShift: replay.timeShift, key: "\(namespace)/\(spec.targetName)", url: url,
            identity: identity, http: http)
        return TargetRegistry.Binding(target: remote, metrics: live(remote))
    }

    func live(_ metrics: any MetricsSource) -> any MetricsSource {
        liveSamples ? LiveReplay(replay: metrics) : metrics
    }
}

/// A replayed trace that answers fast checks as a live source would: between two 5-minute points the load moves
/// from one to the next (the newest sample at `now` is on that line), so a rise the next step will show reaches a
/// fast check first.
struct LiveReplay: MetricsSource {
    let replay: any MetricsSource

    var timeShift: TimeInterval { replay.timeShift }
    var refreshesWithinStep: Bool { true }

    func loadHistory(until now: Date, steps: Int) async throws -> [LoadSample] {
        try await replay.loadHistory(until: now, steps: steps)
    }

    func newest(at now: Date) async throws -> LoadSample? {
        let current = try await replay.loadHistory(until: now, steps: 1).last
        guard let current else { return nil }
        let following = try await replay.loadHistory(until: now.addingTimeInterval(3600), steps: 13)
        guard let next = following.first(where: { $0.time > current.time }), next.time > now else { return current }
        let fraction = now.timeIntervalSince(current.time) / next.time.timeIntervalSince(current.time)
        return LoadSample(time: now, load: current.load + (next.load - current.load) * fraction, inputs: current.inputs)
    }
}
