import Foundation
import KubeCore
import Synchronization

/// A reference to the object an Event is about.
public struct ObjectReference: Sendable, Equatable {
    public var apiVersion: String
    public var kind: String
    public var namespace: String
    public var name: String
    public var uid: String

    public init(apiVersion: String, kind: String, namespace: String, name: String, uid: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }

    public init(_ object: JSONValue) {
        apiVersion = object["apiVersion"]?.stringValue ?? ""
        kind = object["kind"]?.stringValue ?? ""
        namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        uid = object.value(at: ["metadata", "uid"])?.stringValue ?? ""
    }

    var json: JSONValue {
        [
            "apiVersion": .string(apiVersion), "kind": .string(kind), "namespace": .string(namespace),
            "name": .string(name), "uid": .string(uid),
        ]
    }
}

/// Records Events (events.k8s.io/v1; core/v1 when that API is not served), with
/// client-side aggregation of repeats into a series and a per-object rate limit
/// (`EventAggregator`). Recording never throws: a lost Event must not fail a reconcile.
public final class EventRecorder: Sendable {
    public enum EventType: String, Sendable {
        case normal = "Normal"
        case warning = "Warning"
    }

    private let client: KubernetesClient
    private let reportingController: String
    private let reportingInstance: String
    private let now: @Sendable () -> Duration
    private let wallTime: @Sendable () -> Date
    private let state: Mutex<(aggregator: EventAggregator, useCoreV1: Bool, sent: Int, dropped: Int, failed: Int)>

    public init<C: Clock>(
        client: KubernetesClient, reportingController: String, reportingInstance: String, clock: C,
        wallTime: @escaping @Sendable () -> Date = { Date() }, aggregator: EventAggregator = EventAggregator()
    ) where C.Duration == Duration {
        self.client = client
        self.reportingController = reportingController
        self.reportingInstance = reportingInstance
        let start = clock.now
        now = { start.duration(to: clock.now) }
        self.wallTime = wallTime
        state = Mutex((aggregator, false, 0, 0, 0))
    }

    /// Counts for tests and metrics: API writes made, events dropped by the rate limit, failures.
    public var counts: (sent: Int, dropped: Int, failed: Int) { state.withLock { ($0.sent, $0.dropped, $0.failed) } }

    public func record(regarding: ObjectReference, type: EventType, reason: String, action: String, note: String) async
    {
        let key = EventAggregator.Key(
            object: "\(regarding.kind)/\(regarding.namespace)/\(regarding.name)/\(regarding.uid)", type: type.rawValue,
            reason: reason, action: action, note: note)
        let wall = wallTime()
        // client-go names Events by the wall time in hex nanoseconds. The wall time here may
        // be virtual or fixed (`--now`): a random tail keeps two processes, or two records in
        // one nanosecond, from colliding on a name.
        let nanos = UInt64(min(max(0, wall.timeIntervalSince1970 * 1e9), 1.8e19))
        let suffix = String(nanos, radix: 16) + String(UInt16.random(in: 0...UInt16.max) | 0x1000, radix: 16)
        let at = now()
        let (decision, useCore) = state.withLock { state in
            (state.aggregator.record(key, objectName: regarding.name, suffix: suffix, now: at), state.useCoreV1)
        }
        let micro = JSONValue.string(Timestamps.formatMicro(wall))
        let seconds = JSONValue.string(Timestamps.format(wall))
        do {
            switch decision {
            case .drop:
                state.withLock { $0.dropped += 1 }
                return
            case .create(let name):
                let event = Occurrence(
                    name: name, regarding: regarding, type: type, reason: reason, action: action, note: note,
                    time: wall, reportingController: reportingController, reportingInstance: reportingInstance)
                if useCore {
                    _ = try await TypedClient<CoreEvent>(client).create(CoreEvent(event))
                } else {
                    do {
                        _ = try await TypedClient<Event>(client).create(Event(event))
                    } catch {
                        guard case .notFound = error,
                            error.description.contains("the server could not find the requested resource")
                        else { throw error }
                        state.withLock { $0.useCoreV1 = true }
                        _ = try await TypedClient<CoreEvent>(client).create(CoreEvent(event))
                    }
                }
            case .updateSeries(let name, let count):
                if useCore {
                    _ = try await client.patch(
                        .coreEvents, namespace: regarding.namespace, name: name,
                        .merge(["count": .integer(Int64(count)), "lastTimestamp": seconds]))
                } else {
                    _ = try await client.patch(
                        .events, namespace: regarding.namespace, name: name,
                        .merge(["series": ["count": .integer(Int64(count)), "lastObservedTime": micro]]))
                }
            }
            state.withLock { $0.sent += 1 }
        } catch {
            state.withLock { $0.failed += 1 }
        }
    }
}
