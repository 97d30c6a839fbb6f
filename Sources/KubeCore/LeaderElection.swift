import Foundation

/// The spec of a coordination.k8s.io/v1 Lease used as a leader-election lock.
public struct LeaseRecord: Sendable, Equatable {
    public var holderIdentity: String
    public var leaseDurationSeconds: Int
    public var acquireTime: Date?
    public var renewTime: Date?
    public var leaseTransitions: Int

    public init(
        holderIdentity: String, leaseDurationSeconds: Int, acquireTime: Date?, renewTime: Date?, leaseTransitions: Int
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }

    public init(spec: JSONValue?) {
        holderIdentity = spec?["holderIdentity"]?.stringValue ?? ""
        leaseDurationSeconds = spec?["leaseDurationSeconds"]?.intValue ?? 0
        acquireTime = spec?["acquireTime"]?.stringValue.flatMap(Timestamps.parse)
        renewTime = spec?["renewTime"]?.stringValue.flatMap(Timestamps.parse)
        leaseTransitions = spec?["leaseTransitions"]?.intValue ?? 0
    }

    /// MicroTime fields, as the API expects.
    public var spec: JSONValue {
        var spec: [String: JSONValue] = [
            "holderIdentity": .string(holderIdentity), "leaseDurationSeconds": .integer(Int64(leaseDurationSeconds)),
            "leaseTransitions": .integer(Int64(leaseTransitions)),
        ]
        if let acquireTime { spec["acquireTime"] = .string(Timestamps.formatMicro(acquireTime)) }
        if let renewTime { spec["renewTime"] = .string(Timestamps.formatMicro(renewTime)) }
        return .object(spec)
    }
}

/// client-go's leader-election rules as a pure state machine. Expiry is judged only from
/// locally observed time — when *this* process last saw the record change, on its own
/// monotonic clock — never from the timestamps another process wrote (clocks differ).
public struct LeaderElectionState: Sendable {
    public let identity: String
    public let leaseDuration: Duration
    public private(set) var observedRecord: LeaseRecord?
    public private(set) var observedAt: Duration = .zero

    public init(identity: String, leaseDuration: Duration) {
        self.identity = identity
        self.leaseDuration = leaseDuration
    }

    /// Notes the record as read at monotonic time `now`; the clock restarts only on change.
    public mutating func observe(_ record: LeaseRecord?, now: Duration) {
        if record != observedRecord {
            observedRecord = record
            observedAt = now
        }
    }

    public var isHeldBySelf: Bool { observedRecord?.holderIdentity == identity }

    /// Whether this identity may write itself into the lease at `now`.
    public func mayAcquire(now: Duration) -> Bool {
        guard let record = observedRecord, !record.holderIdentity.isEmpty, record.holderIdentity != identity else {
            return true
        }
        let duration = record.leaseDurationSeconds > 0 ? Duration.seconds(record.leaseDurationSeconds) : leaseDuration
        return observedAt + duration <= now
    }

    /// The record to write: a renewal keeps acquireTime; a takeover counts a transition.
    public func nextRecord(wallTime: Date) -> LeaseRecord {
        let seconds = Int(leaseDuration.components.seconds)
        if let record = observedRecord, record.holderIdentity == identity {
            return LeaseRecord(
                holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: record.acquireTime ?? wallTime,
                renewTime: wallTime, leaseTransitions: record.leaseTransitions)
        }
        let transitions = (observedRecord?.leaseTransitions ?? -1) + 1
        return LeaseRecord(
            holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: wallTime, renewTime: wallTime,
            leaseTransitions: transitions)
    }

    /// What to write on graceful release, so a successor may take over at once.
    public func releaseRecord(wallTime: Date) -> LeaseRecord? {
        guard var record = observedRecord, record.holderIdentity == identity else { return nil }
        record.holderIdentity = ""
        record.leaseDurationSeconds = 1
        record.renewTime = wallTime
        return record
    }
}
