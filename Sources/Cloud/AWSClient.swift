import AWSSigning
import Digest
import Foundation
import Transport

/// Where AWS calls go and how they are signed. Endpoint overrides follow the AWS SDKs:
/// `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_AUTO_SCALING`), then
/// `AWS_ENDPOINT_URL` — for moto, LocalStack and VPC endpoints.
public struct AWSConfiguration: Sendable {
    public var region: String
    /// Used when `credentialProvider` is nil.
    public var credentials: AWSCredentials
    /// Asked before every attempt when set (e.g. `CredentialChain.credentials`, which caches
    /// and refreshes temporary credentials — IRSA, Pod Identity, IMDS — before they expire),
    /// so a long-running process keeps signing with valid credentials.
    public var credentialProvider: (@Sendable () async throws -> AWSCredentials)?
    /// Explicit endpoint for every service (overrides the environment).
    public var endpoint: String?
    public var environment: [String: String]
    public var maxAttempts: Int

    public init(
        region: String, credentials: AWSCredentials, endpoint: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, maxAttempts: Int = 4
    ) {
        self.region = region
        self.credentials = credentials
        self.endpoint = endpoint
        self.environment = environment
        self.maxAttempts = maxAttempts
    }

    /// The base URL for `service` (signing name) whose SDK id is `sdkID` (e.g. "AUTO_SCALING").
    public func endpoint(service: String, sdkID: String) -> String {
        if let endpoint { return endpoint }
        if let specific = environment["AWS_ENDPOINT_URL_\(sdkID)"], !specific.isEmpty { return specific }
        if let global = environment["AWS_ENDPOINT_URL"], !global.isEmpty { return global }
        return "https://\(service).\(region).amazonaws.com"
    }
}

/// Signs and sends AWS requests with retries (exponential backoff with full jitter on
/// throttling and 5xx, bounded attempts).
public struct AWSClient: Sendable {
    public let configuration: AWSConfiguration
    let http: HTTPClient
    let now: @Sendable () -> Date
    let sleep: @Sendable (Duration) async throws -> Void

    public init(
        configuration: AWSConfiguration, http: HTTPClient = HTTPClient(),
        now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.configuration = configuration
        self.http = http
        self.now = now
        self.sleep = sleep
    }

    /// What an AWS answer may hold unless its call says otherwise: a page of DescribeAutoScalingGroups or a
    /// GetMetricData answer of 500 queries is a few MB.
    public static let maxResponseBytes = 16 << 20

    /// A Query-protocol call (Auto Scaling, CloudWatch Query, STS, IAM): a signed form POST.
    /// Returns the response body (XML) of a 2xx answer; throws `AWSError` otherwise.
    /// `signed: false` sends the form without credentials (AssumeRoleWithWebIdentity, which
    /// is how a pod without credentials gets its first ones).
    public func query(
        service: String, sdkID: String, action: String, version: String, parameters: [(String, String)],
        signed: Bool = true
    ) async throws -> Data {
        let form = ([("Action", action), ("Version", version)] + parameters)
            .map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }
            .joined(separator: "&")
        return try await send(
            service: service, sdkID: sdkID, method: "POST", path: "/", query: [],
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: Array(form.utf8),
            signed: signed
        ).body
    }

    /// `query`, with the answer parsed as XML (every Query-protocol response is).
    public func queryXML(
        service: String, sdkID: String, action: String, version: String, parameters: [(String, String)],
        signed: Bool = true
    ) async throws -> XMLTree {
        let body = try await query(
            service: service, sdkID: sdkID, action: action, version: version, parameters: parameters, signed: signed)
        guard let root = try? XMLTree.parse(body) else {
            throw AWSError.malformedResponse("\(action): response is not XML")
        }
        return root
    }

    /// application/x-www-form-urlencoded with spaces as "+", as AWS SDKs (and moto's
    /// re-signing) expect.
    static func formEncode(_ text: String) -> String {
        SigV4Signer.percentEncode(text, keepingSlash: false).replacingOccurrences(of: "%20", with: "+")
    }

    /// Signs (host, x-amz-date, content-type, x-amz-target, x-amz-content-sha256,
    /// x-amz-security-token only) and sends, retrying retryable failures.
    /// Statuses in `accepting` (e.g. 304, or 404 for HEAD) are returned rather than thrown.
    public func send(
        service: String, sdkID: String, method: String, path: String, query: [(name: String, value: String)],
        headers: [(name: String, value: String)], body: [UInt8], s3: Bool = false, accepting: Set<Int> = [],
        signed: Bool = true, maxResponseBytes: Int = AWSClient.maxResponseBytes
    ) async throws -> HTTPResponse {
        // The region is part of every endpoint's host name: by the partitions' grammar only.
        guard AWSNames.isRegion(configuration.region) else {
            throw AWSError.malformedResponse(
                "'\(configuration.region.prefix(40))' is not an AWS region; nothing was sent")
        }
        let base = configuration.endpoint(service: service, sdkID: sdkID)
        guard let components = URLComponents(string: base), let host = components.host else {
            throw AWSError.malformedResponse("bad endpoint URL '\(base)'")
        }
        let hostHeader = components.port.map { "\(host):\($0)" } ?? host
        let basePath = components.path == "/" ? "" : components.path
        let fullPath = basePath + path
        let signer = SigV4Signer(
            service: service, region: configuration.region, normalizesPath: !s3, signsPayloadHash: true)
        let canonicalQuery = SigV4Signer.canonicalQuery(query)
        let url =
            "\(components.scheme ?? "https")://\(hostHeader)"
            + SigV4Signer.percentEncode(fullPath.isEmpty ? "/" : fullPath, keepingSlash: true)
            + (canonicalQuery.isEmpty ? "" : "?\(canonicalQuery)")
        var attempt = 0
        while true {
            attempt += 1
            let request = SigV4Signer.Request(
                method: method, path: fullPath.isEmpty ? "/" : fullPath, query: query,
                headers: [("Host", hostHeader)] + headers, body: body)
            var httpHeaders = HTTPHeaders()
            if signed {
                let credentials: AWSCredentials
                if let provider = configuration.credentialProvider {
                    do { credentials = try await provider() } catch {
                        throw AWSError.missingCredentials("refreshing credentials: \(error)")
                    }
                } else {
                    credentials = configuration.credentials
                }
                let signedRequest = signer.sign(request, credentials: credentials, date: now())
                for header in signedRequest.headers where header.name.lowercased() != "host" {
                    httpHeaders.add(header.name, header.value)
                }
            } else {
                for header in headers { httpHeaders.add(header.name, header.value) }
            }
            let outcome: Result<HTTPResponse, AWSError>
            do {
                let response = try await http.execute(
                    HTTPRequest(
                        method: method, url: url, headers: httpHeaders,
                        body: method == "GET" || method == "HEAD" ? nil : Data(body),
                        maxResponseBytes: maxResponseBytes))
                outcome =
                    response.isSuccess || accepting.contains(response.status)
                    ? .success(response)
                    : .failure(.from(status: response.status, headers: response.headers, body: response.body))
            } catch let error as TransportError {
                outcome = .failure(.transport(error))
            }
            switch outcome {
            case .success(let response):
                return response
            case .failure(let error):
                guard error.isRetryable, attempt < configuration.maxAttempts else { throw error }
                // Full jitter: uniform in [0, min(cap, base · 2^attempt)].
                let ceiling = min(20_000, 100 * (1 << attempt))
                try await sleep(.milliseconds(Int.random(in: 0...ceiling)))
            }
        }
    }
}
