import Foundation
import KubeCore
import Transport

/// How to reach and authenticate to one API server, resolved from a kubeconfig context or
/// from the in-cluster service account.
public struct ClusterConnection: Sendable, Equatable {
    public enum Authentication: Sendable, Equatable {
        case none
        case bearerToken(String)
        /// Re-read on every use (service-account tokens rotate).
        case bearerTokenFile(String)
        /// A client.authentication.k8s.io exec plugin (EKS: `aws eks get-token`).
        case exec(ExecConfig)
    }

    public var server: String
    public var tls: TLSConfiguration
    public var authentication: Authentication
    public var namespace: String
    public var contextName: String?

    public init(
        server: String, tls: TLSConfiguration = TLSConfiguration(), authentication: Authentication = .none,
        namespace: String = "default", contextName: String? = nil
    ) {
        self.server = server
        self.tls = tls
        self.authentication = authentication
        self.namespace = namespace
        self.contextName = contextName
    }
}

/// `users[].user.exec` of a kubeconfig.
public struct ExecConfig: Sendable, Equatable {
    public var command: String
    public var arguments: [String]
    public var environment: [String: String]
    public var apiVersion: String
}

public enum KubeConfigError: Error, Equatable, CustomStringConvertible {
    case noConfiguration(String)
    case unreadable(path: String, detail: String)
    case missingContext(String)
    case missingEntry(kind: String, name: String, context: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .noConfiguration(let tried): "no Kubernetes configuration found: \(tried)"
        case .unreadable(let path, let detail): "\(path): \(detail)"
        case .missingContext(let name): "kubeconfig has no context '\(name)'"
        case .missingEntry(let kind, let name, let context):
            "context '\(context)' names \(kind) '\(name)', which the kubeconfig does not define"
        case .invalid(let detail): "invalid kubeconfig: \(detail)"
        }
    }
}

/// Reads kubeconfig files the way kubectl does: `KUBECONFIG` is a colon-separated list
/// merged in order (the first file that defines a named cluster, user or context wins;
/// the first `current-context` wins), else `~/.kube/config`.
public struct KubeConfigLoader: Sendable {
    public var environment: [String: String]
    public var homeDirectory: String

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, homeDirectory: String = NSHomeDirectory()
    ) {
        self.environment = environment
        self.homeDirectory = homeDirectory
    }

    var paths: [String] {
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            return list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        return ["\(homeDirectory)/.kube/config"]
    }

    /// The connection for `context` (or the current context).
    public func load(context requested: String? = nil) throws(KubeConfigError) -> ClusterConnection {
        var clusters: [String: (JSONValue, String)] = [:]
        var users: [String: (JSONValue, String)] = [:]
        var contexts: [String: JSONValue] = [:]
        var current: String?
        var found = false
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            found = true
            let document: JSONValue
            do {
                document = try YAML.parse(String(decoding: data, as: UTF8.self))
            } catch {
                throw .unreadable(path: path, detail: error.description)
            }
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            for entry in document["clusters"]?.arrayValue ?? [] {
                if let name = entry["name"]?.stringValue, clusters[name] == nil, let cluster = entry["cluster"] {
                    clusters[name] = (cluster, directory)
                }
            }
            for entry in document["users"]?.arrayValue ?? [] {
                if let name = entry["name"]?.stringValue, users[name] == nil, let user = entry["user"] {
                    users[name] = (user, directory)
                }
            }
            for entry in document["contexts"]?.arrayValue ?? [] {
                if let name = entry["name"]?.stringValue, contexts[name] == nil, let context = entry["context"] {
                    contexts[name] = context
                }
            }
            if current == nil, let name = document["current-context"]?.stringValue, !name.isEmpty { current = name }
        }
        guard found else { throw .noConfiguration("no file at \(paths.joined(separator: ", "))") }
        guard let contextName = requested ?? current else {
            throw .invalid("no current-context and no --context given")
        }
        guard let context = contexts[contextName] else { throw .missingContext(contextName) }
        guard let clusterName = context["cluster"]?.stringValue, let (cluster, clusterDirectory) = clusters[clusterName]
        else {
            throw .missingEntry(kind: "cluster", name: context["cluster"]?.stringValue ?? "", context: contextName)
        }
        guard let server = cluster["server"]?.stringValue else {
            throw .invalid("cluster '\(clusterName)' has no server")
        }
        var tls = TLSConfiguration(insecureSkipVerify: cluster["insecure-skip-tls-verify"] == .bool(true))
        tls.certificateAuthority = try pem(
            cluster, file: "certificate-authority", data: "certificate-authority-data", directory: clusterDirectory)
        var authentication = ClusterConnection.Authentication.none
        if let userName = context["user"]?.stringValue, !userName.isEmpty {
            guard let (user, userDirectory) = users[userName] else {
                throw .missingEntry(kind: "user", name: userName, context: contextName)
            }
            tls.clientCertificate = try pem(
                user, file: "client-certificate", data: "client-certificate-data", directory: userDirectory)
            tls.clientKey = try pem(user, file: "client-key", data: "client-key-data", directory: userDirectory)
            authentication = try Self.authentication(of: user, named: userName, directory: userDirectory)
        }
        return ClusterConnection(
            server: server, tls: tls, authentication: authentication,
            namespace: context["namespace"]?.stringValue ?? "default", contextName: contextName)
    }

    /// A user's token, token file or exec plug-in (none: client certificates alone, or anonymous).
    private static func authentication(of user: JSONValue, named userName: String, directory: String)
        throws(KubeConfigError) -> ClusterConnection.Authentication
    {
        if let token = user["token"]?.stringValue { return .bearerToken(token) }
        if let file = user["tokenFile"]?.stringValue {
            return .bearerTokenFile(resolve(file, in: directory))
        }
        guard let exec = user["exec"] else { return .none }
        guard let command = exec["command"]?.stringValue else {
            throw .invalid("user '\(userName)': exec without command")
        }
        var environment: [String: String] = [:]
        for variable in exec["env"]?.arrayValue ?? [] {
            if let name = variable["name"]?.stringValue { environment[name] = variable["value"]?.stringValue ?? "" }
        }
        return .exec(
            ExecConfig(
                command: command, arguments: (exec["args"]?.arrayValue ?? []).compactMap(\.stringValue),
                environment: environment,
                apiVersion: exec["apiVersion"]?.stringValue ?? "client.authentication.k8s.io/v1"))
    }

    /// Relative paths in a kubeconfig are relative to the file that names them.
    private static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : "\(directory)/\(path)"
    }

    private func pem(_ entry: JSONValue, file: String, data: String, directory: String) throws(KubeConfigError)
        -> PEMSource?
    {
        if let encoded = entry[data]?.stringValue {
            guard let decoded = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw .invalid("\(data) is not base64")
            }
            return .pem(decoded)
        }
        return entry[file]?.stringValue.map { .file(Self.resolve($0, in: directory)) }
    }

    /// What a controller uses: an explicit or default kubeconfig when there is one, else the
    /// in-cluster service account; when neither works the error names both attempts.
    public func resolve(
        context: String? = nil, serviceAccountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws(KubeConfigError) -> ClusterConnection {
        let kubeconfigError: KubeConfigError
        do {
            return try load(context: context)
        } catch {
            // A kubeconfig that exists but is broken is reported as it is.
            guard case .noConfiguration = error else { throw error }
            kubeconfigError = error
        }
        do {
            return try inCluster(directory: serviceAccountDirectory)
        } catch {
            throw .noConfiguration(
                "tried the kubeconfig (\(kubeconfigError)) and the in-cluster service account (\(error)); set "
                    + "KUBECONFIG or run in a pod with a service account"
            )
        }
    }

    /// The in-cluster service account: KUBERNETES_SERVICE_HOST/PORT, token (re-read on use),
    /// CA and namespace from `directory` (default /var/run/secrets/kubernetes.io/serviceaccount).
    public func inCluster(directory: String = "/var/run/secrets/kubernetes.io/serviceaccount") throws(KubeConfigError)
        -> ClusterConnection
    {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"]
        else {
            throw .noConfiguration("not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)")
        }
        guard FileManager.default.fileExists(atPath: "\(directory)/token") else {
            throw .noConfiguration("no service-account token at \(directory)/token")
        }
        let namespace = FileManager.default.contents(atPath: "\(directory)/namespace").map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return ClusterConnection(
            server: "https://\(hostPart):\(port)",
            tls: TLSConfiguration(certificateAuthority: .file("\(directory)/ca.crt")),
            authentication: .bearerTokenFile("\(directory)/token"), namespace: namespace ?? "default", contextName: nil)
    }
}
