import AWSSigning
import Foundation

/// Temporary credentials and when they stop working.
public struct TemporaryCredentials: Sendable {
    public var credentials: AWSCredentials
    public var expiration: Date
}

/// AWS STS (Query protocol, API version 2011-06-15).
public struct STSAPI: Sendable {
    public let client: AWSClient
    static let version = "2011-06-15"

    public init(client: AWSClient) {
        self.client = client
    }

    /// AssumeRoleWithWebIdentity (EKS IRSA): unsigned; the web identity token is the proof.
    public func assumeRoleWithWebIdentity(
        roleARN: String, sessionName: String, webIdentityToken: String, durationSeconds: Int = 3600
    ) async throws -> TemporaryCredentials {
        let root = try await client.queryXML(
            service: "sts", sdkID: "STS", action: "AssumeRoleWithWebIdentity", version: Self.version,
            parameters: [
                ("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken),
                ("DurationSeconds", String(durationSeconds)),
            ], signed: false)
        let credentials = root.elements(path: ["AssumeRoleWithWebIdentityResult", "Credentials"]).first
        guard let credentials, let id = credentials.text("AccessKeyId"),
            let secret = credentials.text("SecretAccessKey"),
            let token = credentials.text("SessionToken"),
            let expiration = credentials.text("Expiration").flatMap(CloudWatchAPI.parseTimestamp)
        else {
            throw AWSError.malformedResponse("AssumeRoleWithWebIdentity: credentials missing from the response")
        }
        return TemporaryCredentials(
            credentials: AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token),
            expiration: expiration)
    }

    /// GetCallerIdentity: the ARN the credentials act as.
    public func getCallerIdentity() async throws -> String {
        let root = try await client.queryXML(
            service: "sts", sdkID: "STS", action: "GetCallerIdentity", version: Self.version, parameters: [])
        guard let arn = root.elements(path: ["GetCallerIdentityResult", "Arn"]).first?.stringValue else {
            throw AWSError.malformedResponse("GetCallerIdentity: no Arn")
        }
        return arn
    }
}
