import Foundation
import Synchronization

/// Prometheus metrics of the controller (text exposition format 0.0.4).
public final class ControllerMetrics: Sendable {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private struct State {
        var reconciles = 0
        var errors: [String: Int] = [:]
        var bucketCounts = [Int](repeating: 0, count: ControllerMetrics.buckets.count)
        var durationSum = 0.0
        var policies: [String: (current: Int, desired: Int, forecast: Double?, modelAge: Double?)] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var reconcileCount: Int { state.withLock { $0.reconciles } }
    public var errorCounts: [String: Int] { state.withLock { $0.errors } }

    func recordReconcile(seconds: Double, error: String?) {
        state.withLock { state in
            state.reconciles += 1
            state.durationSum += seconds
            for (index, bound) in Self.buckets.enumerated() where seconds <= bound { state.bucketCounts[index] += 1 }
            if let error { state.errors[error, default: 0] += 1 }
        }
    }

    func update(_ key: String, current: Int, desired: Int, forecast: Double?, modelAge: Double?) {
        state.withLock { $0.policies[key] = (current, desired, forecast, modelAge) }
    }

    func forget(_ key: String) { state.withLock { _ = $0.policies.removeValue(forKey: key) } }

    public func exposition() -> String {
        state.withLock { state in
            var text =
                "# HELP forescale_reconcile_total Reconcile passes.\n# TYPE forescale_reconcile_total "
                + "counter\nforescale_reconcile_total \(state.reconciles)\n"
            text +=
                "# HELP forescale_reconcile_errors_total Failed reconcile passes by reason.\n# TYPE "
                + "forescale_reconcile_errors_total counter\n"
            for (reason, count) in state.errors.sorted(by: { $0.key < $1.key }) {
                text += "forescale_reconcile_errors_total{reason=\"\(reason)\"} \(count)\n"
            }
            text +=
                "# HELP forescale_reconcile_duration_seconds Reconcile duration.\n# TYPE "
                + "forescale_reconcile_duration_seconds histogram\n"
            for (index, bound) in Self.buckets.enumerated() {
                text += "forescale_reconcile_duration_seconds_bucket{le=\"\(bound)\"} \(state.bucketCounts[index])\n"
            }
            text +=
                "forescale_reconcile_duration_seconds_bucket{le=\"+Inf\"} "
                + "\(state.reconciles)\nforescale_reconcile_duration_seconds_sum "
                + "\(state.durationSum)\nforescale_reconcile_duration_seconds_count \(state.reconciles)\n"
            text += "# HELP forescale_policy_capacity Capacity per policy.\n# TYPE forescale_policy_capacity gauge\n"
            for (key, value) in state.policies.sorted(by: { $0.key < $1.key }) {
                let (namespace, name) = Self.split(key)
                text +=
                    "forescale_policy_capacity{namespace=\"\(namespace)\",policy=\"\(name)\",kind=\"current\"} "
                    + "\(value.current)\n"
                text +=
                    "forescale_policy_capacity{namespace=\"\(namespace)\",policy=\"\(name)\",kind=\"desired\"} "
                    + "\(value.desired)\n"
            }
            text +=
                "# HELP forescale_policy_forecast_load Forecast load at the policy's quantile over the lead time.\n# "
                + "TYPE forescale_policy_forecast_load gauge\n"
            for (key, value) in state.policies.sorted(by: { $0.key < $1.key }) {
                guard let forecast = value.forecast else { continue }
                let (namespace, name) = Self.split(key)
                text += "forescale_policy_forecast_load{namespace=\"\(namespace)\",policy=\"\(name)\"} \(forecast)\n"
            }
            text +=
                "# HELP forescale_model_age_seconds Age of the data the policy's model was trained on.\n# TYPE "
                + "forescale_model_age_seconds gauge\n"
            for (key, value) in state.policies.sorted(by: { $0.key < $1.key }) {
                guard let age = value.modelAge else { continue }
                let (namespace, name) = Self.split(key)
                text += "forescale_model_age_seconds{namespace=\"\(namespace)\",policy=\"\(name)\"} \(age)\n"
            }
            return text
        }
    }

    private static func split(_ key: String) -> (String, String) {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : ("", key)
    }
}
