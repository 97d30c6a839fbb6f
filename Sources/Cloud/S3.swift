import AWSSigning
import Foundation
import Transport

/// S3 object calls for model artefacts. Path-style addressing (`endpoint/bucket/key`)
/// when an endpoint is overridden (moto, LocalStack, VPC endpoints), virtual-hosted
/// otherwise.
public struct S3API: Sendable {
    public let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    public struct Object: Sendable {
        public var data: Data
        public var eTag: String?
    }

    public enum GetResult: Sendable {
        case object(Object)
        /// The caller's ETag still matches (If-None-Match → 304).
        case notModified
    }

    var isPathStyle: Bool {
        client.configuration.endpoint != nil
            || client.configuration.environment["AWS_ENDPOINT_URL_S3"] != nil
            || client.configuration.environment["AWS_ENDPOINT_URL"] != nil
    }

    /// The request path for `key`; virtual-hosted requests go to `bucket.s3.region…`.
    func path(bucket: String, key: String) -> String {
        isPathStyle ? "/\(bucket)/\(key)" : "/\(key)"
    }

    private func send(
        _ method: String, bucket: String, key: String, headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], accepting: Set<Int> = [], maxResponseBytes: Int = 1 << 20
    ) async throws -> HTTPResponse {
        // The bucket becomes a host name: by S3's grammar only, before anything is sent.
        guard AWSNames.isBucketName(bucket) else {
            throw AWSError.malformedResponse("'\(bucket.prefix(80))' is not an S3 bucket name; nothing was sent")
        }
        // Any key S3 takes (1,024 bytes of UTF-8); a key that could climb is refused where tenants name keys
        // (`ArtefactURL`), not here.
        guard key.utf8.count <= 1024, !key.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw AWSError.malformedResponse("'\(key.prefix(80))' is not an S3 object key")
        }
        var configuration = client.configuration
        if !isPathStyle { configuration.endpoint = "https://\(bucket).s3.\(configuration.region).amazonaws.com" }
        let target = AWSClient(configuration: configuration, http: client.http, now: client.now, sleep: client.sleep)
        return try await target.send(
            service: "s3", sdkID: "S3", method: method, path: path(bucket: bucket, key: key), query: [],
            headers: headers, body: body, s3: true, accepting: accepting, maxResponseBytes: maxResponseBytes)
    }

    public func createBucket(_ bucket: String) async throws {
        _ = try await send("PUT", bucket: bucket, key: "")
    }

    /// PutObject; returns the new ETag. Conditional writes (S3's, since 2024): `ifNoneMatch: "*"` refuses to
    /// overwrite, `ifMatch: etag` writes only over that version; a lost race is a 412 PreconditionFailed.
    @discardableResult
    public func putObject(
        bucket: String, key: String, data: Data, contentType: String = "application/octet-stream",
        ifNoneMatch: String? = nil, ifMatch: String? = nil
    ) async throws -> String? {
        var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
        if let ifNoneMatch { headers.append(("If-None-Match", ifNoneMatch)) }
        if let ifMatch { headers.append(("If-Match", ifMatch)) }
        return try await send("PUT", bucket: bucket, key: key, headers: headers, body: Array(data)).headers["ETag"]
    }

    /// GetObject; with `ifNoneMatch` (a previous ETag), `.notModified` when unchanged. An object larger than
    /// `maxBytes` is not read (`TransportError.responseTooLarge`).
    public func getObject(
        bucket: String, key: String, ifNoneMatch: String? = nil, maxBytes: Int = HTTPRequest.defaultMaxResponseBytes
    ) async throws
        -> GetResult
    {
        let headers: [(name: String, value: String)] = ifNoneMatch.map { [("If-None-Match", $0)] } ?? []
        let response = try await send(
            "GET", bucket: bucket, key: key, headers: headers, accepting: [304], maxResponseBytes: maxBytes)
        if response.status == 304 { return .notModified }
        return .object(Object(data: response.body, eTag: response.headers["ETag"]))
    }

    /// HeadObject: the ETag and size, or nil when the key does not exist.
    public func headObject(bucket: String, key: String) async throws -> (eTag: String?, size: Int)? {
        let response = try await send("HEAD", bucket: bucket, key: key, accepting: [404])
        if response.status == 404 { return nil }
        return (response.headers["ETag"], Int(response.headers["Content-Length"] ?? "") ?? 0)
    }
}
