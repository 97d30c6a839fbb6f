import AWSSigning
import Foundation
import Synchronization
import Transport

/// Finds AWS credentials the way the AWS SDKs do, in this order: environment; web identity
/// (EKS IRSA: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` → AssumeRoleWithWebIdentity);
/// container credentials (EKS Pod Identity / ECS: `AWS_CONTAINER_CREDENTIALS_FULL_URI` or
/// `_RELATIVE_URI` with the authorization token); the shared `~/.aws/credentials` and
/// `~/.aws/config` files for `AWS_PROFILE`; EC2 instance metadata (IMDSv2).
/// Temporary credentials are cached and refreshed five minutes before they expire.
/// Errors name sources and files, never secrets.
public final class CredentialChain: Sendable {
    public enum Source: String, Sendable {
        case environment
        case webIdentity = "web identity"
        case container
        case sharedFiles = "shared files"
        case instanceMetadata = "instance metadata"
    }

    public struct Resolved: Sendable {
        public var credentials: AWSCredentials
        public var expiration: Date?
        public var source: Source
    }

    let environment: [String: String]
    let homeDirectory: String
    let http: HTTPClient
    let now: @Sendable () -> Date
    private let cache = Mutex<Resolved?>(nil)

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, homeDirectory: String = NSHomeDirectory(),
        http: HTTPClient = HTTPClient(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.environment = environment
        self.homeDirectory = homeDirectory
        self.http = http
        self.now = now
    }

    /// Cached credentials, refreshed when within five minutes of expiry.
    public func credentials() async throws -> Resolved {
        if let cached = cache.withLock({ $0 }), cached.expiration.map({ $0.timeIntervalSince(now()) > 300 }) ?? true {
            return cached
        }
        let fresh = try await resolve()
        cache.withLock { $0 = fresh }
        return fresh
    }

    /// Walks the chain once, without the cache.
    public func resolve() async throws -> Resolved {
        var tried: [String] = []
        if let id = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") {
            return Resolved(
                credentials: AWSCredentials(
                    accessKeyID: id, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN")),
                expiration: nil, source: .environment)
        }
        tried.append("environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
        if let role = value("AWS_ROLE_ARN"), let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE") {
            return try await webIdentity(role: role, tokenFile: tokenFile)
        }
        tried.append("web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)")
        if value("AWS_CONTAINER_CREDENTIALS_FULL_URI") != nil || value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != nil
        {
            return try await container()
        }
        tried.append("container (AWS_CONTAINER_CREDENTIALS_FULL_URI)")
        if let shared = try sharedFiles() { return shared }
        tried.append("shared files (\(credentialsFile), profile \(profile))")
        if value("AWS_EC2_METADATA_DISABLED")?.lowercased() != "true" {
            if let metadata = try? await instanceMetadata() { return metadata }
            tried.append("instance metadata (\(metadataEndpoint))")
        }
        throw AWSError.missingCredentials("tried " + tried.joined(separator: "; "))
    }

    /// Region: AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region` in the config file.
    public func region() throws -> String {
        if let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") { return region }
        if let region = profileSection(in: configFile, config: true)?["region"] { return region }
        throw AWSError.missingRegion
    }

    private func value(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    var profile: String { value("AWS_PROFILE") ?? "default" }
    var credentialsFile: String { value("AWS_SHARED_CREDENTIALS_FILE") ?? "\(homeDirectory)/.aws/credentials" }
    var configFile: String { value("AWS_CONFIG_FILE") ?? "\(homeDirectory)/.aws/config" }
    var metadataEndpoint: String { value("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254" }

    private func webIdentity(role: String, tokenFile: String) async throws -> Resolved {
        guard
            let token = FileManager.default.contents(atPath: tokenFile).map({
                String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }),
            !token.isEmpty
        else {
            throw AWSError.missingCredentials("cannot read the web identity token file \(tokenFile)")
        }
        let region = (try? self.region()) ?? "us-east-1"
        let sts = STSAPI(
            client: AWSClient(
                configuration: AWSConfiguration(
                    region: region, credentials: AWSCredentials(accessKeyID: "", secretAccessKey: ""),
                    environment: environment), http: http, now: now))
        let session = value("AWS_ROLE_SESSION_NAME") ?? "forescale-\(Int(now().timeIntervalSince1970))"
        let temporary = try await sts.assumeRoleWithWebIdentity(
            roleARN: role, sessionName: session, webIdentityToken: token)
        return Resolved(credentials: temporary.credentials, expiration: temporary.expiration, source: .webIdentity)
    }

    private func container() async throws -> Resolved {
        let url =
            value("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            ?? "http://169.254.170.2\(value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ?? "")"
        var headers = HTTPHeaders()
        if let file = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            guard let token = FileManager.default.contents(atPath: file) else {
                throw AWSError.missingCredentials("cannot read the container authorization token file \(file)")
            }
            headers.add(
                "Authorization", String(decoding: token, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        } else if let token = value("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            headers.add("Authorization", token)
        }
        let response = try await http.execute(HTTPRequest(url: url, headers: headers, timeout: .seconds(5)))
        guard response.isSuccess else {
            throw AWSError.missingCredentials("container credentials endpoint answered HTTP \(response.status)")
        }
        return try parseCredentialDocument(response.body, source: .container)
    }

    private func instanceMetadata() async throws -> Resolved {
        let base = metadataEndpoint.hasSuffix("/") ? String(metadataEndpoint.dropLast()) : metadataEndpoint
        let tokenResponse = try await http.execute(
            HTTPRequest(
                method: "PUT", url: "\(base)/latest/api/token",
                headers: ["X-aws-ec2-metadata-token-ttl-seconds": "21600"], timeout: .seconds(2)))
        guard tokenResponse.isSuccess else {
            throw AWSError.missingCredentials("IMDSv2 token request answered HTTP \(tokenResponse.status)")
        }
        let token: HTTPHeaders = ["X-aws-ec2-metadata-token": String(decoding: tokenResponse.body, as: UTF8.self)]
        let roles = try await http.execute(
            HTTPRequest(url: "\(base)/latest/meta-data/iam/security-credentials/", headers: token, timeout: .seconds(2))
        )
        guard roles.isSuccess, let role = String(decoding: roles.body, as: UTF8.self).split(separator: "\n").first
        else {
            throw AWSError.missingCredentials("no instance profile role in instance metadata")
        }
        let document = try await http.execute(
            HTTPRequest(
                url: "\(base)/latest/meta-data/iam/security-credentials/\(role)", headers: token, timeout: .seconds(2)))
        guard document.isSuccess else {
            throw AWSError.missingCredentials(
                "instance metadata answered HTTP \(document.status) for the role credentials")
        }
        return try parseCredentialDocument(document.body, source: .instanceMetadata)
    }

    /// `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (container and IMDS format).
    private func parseCredentialDocument(_ body: Data, source: Source) throws -> Resolved {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let id = json["AccessKeyId"] as? String, let secret = json["SecretAccessKey"] as? String
        else {
            throw AWSError.missingCredentials(
                "the \(source.rawValue) credentials document has no AccessKeyId/SecretAccessKey")
        }
        let expiration = (json["Expiration"] as? String).flatMap(CloudWatchAPI.parseTimestamp)
        return Resolved(
            credentials: AWSCredentials(
                accessKeyID: id, secretAccessKey: secret, sessionToken: json["Token"] as? String),
            expiration: expiration, source: source)
    }

    private func sharedFiles() throws -> Resolved? {
        for (file, isConfig) in [(credentialsFile, false), (configFile, true)] {
            guard let section = profileSection(in: file, config: isConfig) else { continue }
            guard let id = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else { continue }
            return Resolved(
                credentials: AWSCredentials(
                    accessKeyID: id, secretAccessKey: secret, sessionToken: section["aws_session_token"]),
                expiration: nil, source: .sharedFiles)
        }
        return nil
    }

    /// The profile's keys from an INI file (`[name]` in credentials, `[profile name]` or
    /// `[default]` in config).
    func profileSection(in path: String, config: Bool) -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let wanted = config && profile != "default" ? "profile \(profile)" : profile
        var current: String?
        var values: [String: String] = [:]
        var found = false
        for rawLine in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if current == wanted { found = true }
                continue
            }
            guard current == wanted, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return found ? values : nil
    }
}
