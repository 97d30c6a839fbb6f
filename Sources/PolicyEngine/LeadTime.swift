import Foundation

/// How long the target takes from a raised capacity to that capacity in service (Auto Scaling:
/// InService instances; Deployments: ready replicas), measured on the target itself: each rise of
/// the desired capacity — the controller's or anyone's — is timed from the pass that set or first
/// saw it to the first observation with that many in service. The rolling p90 of the last
/// `maxSamples` is the lead time of a policy that does not set `leadTimeSeconds` (cold starts
/// measured, not guessed). Pure; the samples live in `status.leadTime`, so a restart keeps them.
public struct LeadTimeTracker: Sendable, Equatable {
    public struct Rise: Sendable, Equatable {
        public var capacity: Int
        public var since: Date
    }

    /// Rises not yet in service (oldest first).
    public var open: [Rise] = []
    /// Seconds from a rise to its capacity in service, oldest first.
    public var samples: [Double] = []
    /// The desired capacity last observed.
    public var lastDesired: Int?

    public static let maxSamples = 20
    static let maxOpen = 8
    /// Samples needed before the p90 is used.
    public static let minimumSamples = 3
    /// A rise not in service after this long is dropped (a stuck launch is not a lead time).
    public static let giveUpSeconds: TimeInterval = 86_400

    public init(samples: [Double] = []) {
        self.samples = Array(samples.filter { $0.isFinite && $0 >= 0 }.suffix(Self.maxSamples))
    }

    /// A capacity read from the target at `now`: completes the rises now in service, drops those
    /// the desired capacity fell below (cancelled or refused), and opens one for a rise someone else made.
    public mutating func observe(_ capacity: CapacityState, at now: Date) {
        // A rise first seen already in service is no measurement: when it began is not known.
        if let last = lastDesired, capacity.desired > last, capacity.inService < capacity.desired,
            !open.contains(where: { $0.capacity >= capacity.desired })
        {
            open.append(Rise(capacity: capacity.desired, since: now))
        }
        lastDesired = capacity.desired
        var remaining: [Rise] = []
        for rise in open {
            if capacity.inService >= rise.capacity {
                samples.append(max(0, now.timeIntervalSince(rise.since)))
            } else if rise.capacity <= capacity.desired, now.timeIntervalSince(rise.since) < Self.giveUpSeconds {
                remaining.append(rise)
            }
        }
        open = Array(remaining.suffix(Self.maxOpen))
        samples = Array(samples.suffix(Self.maxSamples))
    }

    /// The controller set `capacity` (above what was desired) at `now`.
    public mutating func raised(to capacity: Int, at now: Date) {
        if let last = lastDesired, capacity <= last { return }
        open.append(Rise(capacity: capacity, since: now))
        open = Array(open.suffix(Self.maxOpen))
        lastDesired = capacity
    }

    /// The 90th percentile of the samples (nearest rank), once there are `minimumSamples`.
    public var p90: Double? {
        guard samples.count >= Self.minimumSamples else { return nil }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int((0.9 * Double(sorted.count)).rounded(.up)) - 1)]
    }
}

extension PolicySpec {
    /// The spec a pass decides with: `leadTimeSeconds` as set, else the target's measured p90 (whole
    /// seconds, at most a day), else the default.
    public func leadTime(learned tracker: LeadTimeTracker) -> PolicySpec {
        guard !leadTimeIsSet, let p90 = tracker.p90 else { return self }
        var spec = self
        spec.leadTimeSeconds = min(86_400, p90.rounded(.up))
        return spec
    }

    /// Where the lead time a pass uses comes from.
    public func leadTimeSource(_ tracker: LeadTimeTracker) -> LeadTimeSource {
        leadTimeIsSet ? .spec : tracker.p90 == nil ? .fallback : .learned
    }
}

/// `status.leadTime.source`, by wire name.
public enum LeadTimeSource: String, Codable, Sendable, CaseIterable {
    case spec = "Spec"
    /// The p90 of the target's measured launch-to-ready times.
    case learned = "Learned"
    /// `PolicySpec.defaultLeadTimeSeconds`: too few measurements yet.
    case fallback = "Default"
}
