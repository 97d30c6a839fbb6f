import Cloud
import Foundation
import KubeCore

/// The Prometheus options the controller and the trainer share. Each has an environment
/// variable too, for Deployments that take settings from a ConfigMap.
enum PrometheusOptions {
    static let usage = """
            --prometheus-url URL              the Prometheus server of policies with metrics.source prometheus
                                              (FORESCALE_PROMETHEUS_URL)
            --prometheus-bearer-token-file F  a bearer token, re-read on every request (FORESCALE_PROMETHEUS_BEARER_TOKEN_FILE)
            --prometheus-basic-auth-file F    user:password on the first line (FORESCALE_PROMETHEUS_BASIC_AUTH_FILE)
            --prometheus-ca-file F            CA bundle for an https:// server (FORESCALE_PROMETHEUS_CA_FILE)
            --prometheus-header 'Name: value' an extra header on requests to that server, repeatable (X-Scope-OrgID for
                                              Mimir); other servers are named per namespace in --access-rules
        """

    /// nil when no Prometheus server is configured at all.
    static func parse(_ arguments: inout Arguments, environment: [String: String]) throws(UsageError)
        -> PrometheusConfiguration?
    {
        func value(_ option: String, _ variable: String) throws(UsageError) -> String? {
            try arguments.option(option) ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        let url = try value("prometheus-url", "FORESCALE_PROMETHEUS_URL")
        let token = try value("prometheus-bearer-token-file", "FORESCALE_PROMETHEUS_BEARER_TOKEN_FILE")
        let basic = try value("prometheus-basic-auth-file", "FORESCALE_PROMETHEUS_BASIC_AUTH_FILE")
        let ca = try value("prometheus-ca-file", "FORESCALE_PROMETHEUS_CA_FILE")
        let headerTexts = try arguments.options("prometheus-header")
        if !(try arguments.options("prometheus-allowed-address")).isEmpty {
            throw UsageError(
                "--prometheus-allowed-address is gone: the servers a namespace may query are its access rules' "
                    + "namespaces.<ns>.prometheus entries (--access-rules)")
        }
        guard url != nil else {
            if token != nil || basic != nil || ca != nil || !headerTexts.isEmpty {
                throw UsageError("Prometheus options need --prometheus-url")
            }
            return nil
        }
        if let url {
            do { _ = try EndpointURL(parsing: url) } catch { throw UsageError("--prometheus-url: \(error)") }
        }
        if token != nil && basic != nil {
            throw UsageError("give --prometheus-bearer-token-file or --prometheus-basic-auth-file, not both")
        }
        for file in [token, basic, ca].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: file) {
            throw UsageError("\(file): cannot read the file")
        }
        var headers: [(name: String, value: String)] = []
        for text in headerTexts {
            guard let colon = text.firstIndex(of: ":"), !text[..<colon].trimmingCharacters(in: .whitespaces).isEmpty
            else {
                throw UsageError("--prometheus-header takes 'Name: value'")
            }
            headers.append(
                (
                    text[..<colon].trimmingCharacters(in: .whitespaces),
                    text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                ))
        }
        return PrometheusConfiguration(
            url: url, bearerTokenFile: token, basicAuthFile: basic, caFile: ca, headers: headers)
    }
}
