import AWSSigning
import Cloud
import Foundation
import KubeClient
import Synchronization
import TestSupport
import Testing
import Transport

/// The credential chain against real files, our HTTP server standing in for the container
/// and instance-metadata endpoints (always on loopback), and moto for web identity.
@Suite("AWS credential chain")
struct CredentialChainTests {
    final class Clock: Sendable {
        let current: Mutex<Date>
        init(_ date: Date) { current = Mutex(date) }
        var now: @Sendable () -> Date { { [self] in current.withLock { $0 } } }
        func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    static let noMetadata = ["AWS_EC2_METADATA_DISABLED": "true"]

    @Test func environmentComesFirst() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try FileManager.default.createDirectory(atPath: home.file(".aws"), withIntermediateDirectories: true)
        try "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n".write(
            toFile: home.file(".aws/credentials"), atomically: true, encoding: .utf8)
        let chain = CredentialChain(
            environment: [
                "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken",
            ], homeDirectory: home.path)
        let resolved = try await chain.resolve()
        #expect(resolved.source == .environment)
        #expect(
            resolved.credentials
                == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret", sessionToken: "envtoken"))
    }

    @Test func sharedFilesFollowTheProfileAndTheConfigGivesTheRegion() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try FileManager.default.createDirectory(atPath: home.file(".aws"), withIntermediateDirectories: true)
        try """
        # comment
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = defaultsecret

        [prod]
        aws_access_key_id = PRODKEY
        aws_secret_access_key = prodsecret
        aws_session_token = prodtoken
        """.write(toFile: home.file(".aws/credentials"), atomically: true, encoding: .utf8)
        try "[default]\nregion = eu-west-1\n[profile prod]\nregion = us-east-2\n".write(
            toFile: home.file(".aws/config"), atomically: true, encoding: .utf8)
        let prod = CredentialChain(
            environment: Self.noMetadata.merging(["AWS_PROFILE": "prod"]) { $1 }, homeDirectory: home.path)
        let resolved = try await prod.resolve()
        #expect(resolved.source == .sharedFiles)
        #expect(
            resolved.credentials
                == AWSCredentials(accessKeyID: "PRODKEY", secretAccessKey: "prodsecret", sessionToken: "prodtoken"))
        #expect(try prod.region() == "us-east-2")
        let fallback = CredentialChain(environment: Self.noMetadata, homeDirectory: home.path)
        #expect(try await fallback.resolve().credentials.accessKeyID == "DEFAULTKEY")
        #expect(try fallback.region() == "eu-west-1")
        let explicit = CredentialChain(environment: ["AWS_REGION": "ap-south-1"], homeDirectory: home.path)
        #expect(try explicit.region() == "ap-south-1")
    }

    @Test func containerCredentialsWithTokenFileAreCachedAndRefreshedBeforeExpiry() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "pod-identity-token\n".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        let clock = Clock(Date(timeIntervalSince1970: 1_800_000_000))
        let served = Mutex(0)
        let expiration = ISO8601DateFormatter().string(from: clock.now().addingTimeInterval(600))
        let server = HTTPServer { request, writer in
            guard request.headers["Authorization"] == "pod-identity-token" else {
                writer.respond(status: 401)
                return
            }
            let index = served.withLock { value -> Int in
                value += 1
                return value
            }
            writer.respond(
                status: 200, contentType: "application/json",
                body:
                    #"{"AccessKeyId":"ASIACONTAINER\#(index)","SecretAccessKey":"s","Token":"t","Expiration":"\#(expiration)"}"#
            )
        }
        let port = try server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let chain = CredentialChain(
            environment: Self.noMetadata.merging([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": directory.file("token"),
            ]) { $1 }, homeDirectory: directory.path, now: clock.now)
        let first = try await chain.credentials()
        #expect(first.source == .container && first.credentials.accessKeyID == "ASIACONTAINER1")
        clock.advance(240)  // 6 minutes left: still cached
        #expect(try await chain.credentials().credentials.accessKeyID == "ASIACONTAINER1")
        clock.advance(120)  // 4 minutes left: refreshed
        #expect(try await chain.credentials().credentials.accessKeyID == "ASIACONTAINER2")
    }

    @Test func instanceMetadataV2() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        var router = Router()
        router.add("PUT", "/latest/api/token") { request, writer in
            writer.respond(
                status: request.headers["X-aws-ec2-metadata-token-ttl-seconds"] == nil ? 400 : 200,
                contentType: "text/plain", body: "imds-token")
        }
        router.add("GET", "/latest/meta-data/iam/security-credentials/{role...}") { request, writer in
            guard request.headers["X-aws-ec2-metadata-token"] == "imds-token" else {
                writer.respond(status: 401)
                return
            }
            let role = request.pathParameters["role"] ?? ""
            if role.isEmpty {
                writer.respond(status: 200, contentType: "text/plain", body: "forescale-node\n")
            } else {
                writer.respond(
                    status: 200, contentType: "application/json",
                    body:
                        #"{"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z"}"#
                )
            }
        }
        let server = HTTPServer(handler: router.handler)
        let port = try server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let chain = CredentialChain(
            environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(port)"], homeDirectory: home.path)
        let resolved = try await chain.resolve()
        #expect(resolved.source == .instanceMetadata)
        #expect(resolved.credentials.accessKeyID == "ASIAIMDS" && resolved.credentials.sessionToken == "t")
    }

    @Test func webIdentityAgainstMoto() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "eyJhbGciOiJSUzI1NiJ9.e30.c2ln".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        _ = try await HTTPClient().execute(
            HTTPRequest(
                method: "POST", url: "\(moto.endpoint)/moto-api/reset-auth", headers: ["Content-Type": "text/plain"],
                body: Data("1".utf8)))
        let chain = CredentialChain(
            environment: Self.noMetadata.merging([
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/forescale",
                "AWS_WEB_IDENTITY_TOKEN_FILE": directory.file("token"),
                "AWS_ROLE_SESSION_NAME": "controller", "AWS_ENDPOINT_URL": moto.endpoint, "AWS_REGION": "us-east-1",
            ]) { $1 }, homeDirectory: directory.path)
        let resolved = try await chain.resolve()
        #expect(resolved.source == .webIdentity)
        #expect(resolved.credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(resolved.expiration != nil)
    }

    @Test func nothingConfiguredSaysWhatWasTriedWithoutSecrets() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let chain = CredentialChain(
            environment: Self.noMetadata.merging(["AWS_SECRET_ACCESS_KEY": "only-the-secret-is-set"]) { $1 },
            homeDirectory: home.path)
        do {
            _ = try await chain.resolve()
            Issue.record("expected missing credentials")
        } catch let error as AWSError {
            let text = "\(error)"
            #expect(text.contains("environment") && text.contains("shared files") && text.contains(home.path))
            #expect(!text.contains("only-the-secret-is-set"))
        }
    }

    /// A long-running client re-asks its provider before each request: after the access key
    /// it started with is rotated out (deleted in moto, signatures checked), it keeps working,
    /// while a client holding the old key is refused.
    @Test func clientSignsWithRotatedCredentialsFromItsProvider() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let admin = moto.client()
        func iam(_ action: String, _ parameters: [(String, String)]) async throws -> XMLTree {
            try await admin.queryXML(
                service: "iam", sdkID: "IAM", action: action, version: "2010-05-08", parameters: parameters)
        }
        func field(_ name: String, _ xml: XMLTree) -> String? { xml.first(named: name)?.stringValue }
        let created = try await iam("CreateAccessKey", [("UserName", "forescale-tests")])
        let rotated = AWSCredentials(
            accessKeyID: try #require(field("AccessKeyId", created)),
            secretAccessKey: try #require(field("SecretAccessKey", created)))
        let current = Locked(moto.credentials)
        let asked = Locked(0)
        var configuration = AWSConfiguration(
            region: "us-east-1", credentials: moto.credentials, endpoint: moto.endpoint, maxAttempts: 1)
        configuration.credentialProvider = {
            asked.withLock { $0 += 1 }
            return current.value
        }
        let refreshing = AWSClient(configuration: configuration)
        func identity(_ client: AWSClient) async throws -> String {
            try await client.queryXML(
                service: "sts", sdkID: "STS", action: "GetCallerIdentity", version: "2011-06-15", parameters: []
            ).stringValue
        }
        #expect(try await identity(refreshing).contains("forescale-tests"))
        current.withLock { $0 = rotated }
        _ = try await AWSClient(
            configuration: AWSConfiguration(
                region: "us-east-1", credentials: rotated, endpoint: moto.endpoint, maxAttempts: 1)
        )
        .queryXML(
            service: "iam", sdkID: "IAM", action: "DeleteAccessKey", version: "2010-05-08",
            parameters: [("UserName", "forescale-tests"), ("AccessKeyId", moto.credentials.accessKeyID)])
        #expect(try await identity(refreshing).contains("forescale-tests"), "signed with the rotated key")
        await #expect(throws: AWSError.self, "the deleted key is refused") { _ = try await identity(moto.client()) }
        #expect(asked.value == 2)
    }
}
