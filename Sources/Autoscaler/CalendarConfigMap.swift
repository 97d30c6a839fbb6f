import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine

/// A policy's business calendar, read from a ConfigMap in the policy's own namespace — only one that its
/// owner labelled `forescale.io/calendar: "true"`. The controller may read ConfigMaps a tenant who writes
/// policies may not: without the opt-in, naming any ConfigMap would have the controller parse it and put
/// what it found into the policy's status. Messages name the map and the problem, never its contents.
public enum CalendarConfigMap {
    public static let label = "forescale.io/calendar"

    public enum ReadError: Error, CustomStringConvertible {
        case notLabelled(String)
        case missingKey(String, key: String)
        case unparsable(String, key: String, BusinessCalendar.ParseError)

        public var description: String {
            switch self {
            case .notLabelled(let name):
                "ConfigMap \(name) is not labelled \(CalendarConfigMap.label)=true: its owner labels it to let policies "
                    + "read it as a calendar"
            case .missingKey(let name, let key): "calendar ConfigMap \(name) has no key \(key)"
            case .unparsable(let name, let key, let error): "calendar \(name)/\(key): \(error.description)"
            }
        }
    }

    /// The events of the policy's calendar (`spec.calendar`), from the API server.
    public static func events(_ client: KubernetesClient, namespace: String, spec: PolicySpec) async throws
        -> [CalendarEvent]
    {
        guard let name = spec.calendarConfigMap else { return [] }
        let map = try await client.get(.configMaps, namespace: namespace, name: name)
        guard map.value(at: ["metadata", "labels", label])?.stringValue == "true" else {
            throw ReadError.notLabelled(name)
        }
        guard let text = map.value(at: ["data", spec.calendarKey])?.stringValue else {
            throw ReadError.missingKey(name, key: spec.calendarKey)
        }
        do { return try BusinessCalendar.parse(Data(text.utf8)) } catch {
            throw ReadError.unparsable(name, key: spec.calendarKey, error)
        }
    }
}
