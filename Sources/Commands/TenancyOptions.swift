import Autoscaler
import Foundation
import PolicyEngine

/// The operator's settings that bound what tenants' policies reach and take, shared by the controller and
/// the trainer: the access rules file and the memory the process may use.
struct TenancyOptions {
    static let usage = """
            --access-rules F                  what each namespace's policies may name (Auto Scaling groups,
                                              CloudWatch metrics, Prometheus servers, artefact locations);
                                              read again when it changes (FORESCALE_ACCESS_RULES). Without
                                              it nothing beyond a namespace's own Deployments and simulated
                                              targets is allowed. See README "Who may touch what".
            --memory-limit-mb N               the container's memory limit (FORESCALE_MEMORY_LIMIT_MB, from the
                                              downward API): models may take a quarter of it, one model half
                                              of that (default 512)
        """

    var access: AccessControl
    var memoryLimitBytes: Int

    var modelLimits: ModelRegistry.Limits { ModelRegistry.Limits(memoryLimitBytes: memoryLimitBytes) }

    static func parse(_ arguments: inout Arguments, environment: [String: String]) throws(UsageError) -> TenancyOptions
    {
        let path =
            try arguments.option("access-rules")
            ?? environment["FORESCALE_ACCESS_RULES"].flatMap {
                $0.isEmpty ? nil : $0
            }
        let memoryText = try arguments.option("memory-limit-mb") ?? environment["FORESCALE_MEMORY_LIMIT_MB"]
        var megabytes = 512
        if let memoryText, !memoryText.isEmpty {
            guard let parsed = Int(memoryText), (16...1_048_576).contains(parsed) else {
                throw UsageError("--memory-limit-mb must be a whole number of MiB in 16…1048576")
            }
            megabytes = parsed
        }
        let access: AccessControl
        if let path {
            do { access = try AccessControl(path: path) } catch { throw UsageError("--access-rules \(error)") }
        } else {
            access = .closed
        }
        return TenancyOptions(access: access, memoryLimitBytes: megabytes << 20)
    }
}
