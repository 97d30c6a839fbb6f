import AWSSigning
import Cloud
import Foundation
import Transport

/// A moto server with signature checking switched on and an IAM user allowed everything.
public struct Moto: Sendable {
    public let process: PeerProcess
    public let endpoint: String
    public let credentials: AWSCredentials

    /// Starts moto, bootstraps an IAM user (while auth is still off), then enforces
    /// signatures for every later request.
    public static func start(region: String = "us-east-1") async throws -> Moto {
        let process = try await PeerProcess.start("python3", [Fixtures.path("peers/moto_peer.py")])
        let endpoint = "http://127.0.0.1:\(process.port)"
        let bootstrap = AWSClient(
            configuration: AWSConfiguration(
                region: region, credentials: AWSCredentials(accessKeyID: "bootstrap", secretAccessKey: "bootstrap"),
                endpoint: endpoint))
        func iam(_ action: String, _ parameters: [(String, String)]) async throws -> XMLTree {
            try await bootstrap.queryXML(
                service: "iam", sdkID: "IAM", action: action, version: "2010-05-08", parameters: parameters)
        }
        _ = try await iam("CreateUser", [("UserName", "forescale-tests")])
        let key = try await iam("CreateAccessKey", [("UserName", "forescale-tests")])
        func find(_ name: String) -> String? {
            key.first(named: name)?.stringValue
        }
        guard let id = find("AccessKeyId"), let secret = find("SecretAccessKey") else {
            throw MotoError.bootstrapFailed
        }
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try await iam(
            "PutUserPolicy", [("UserName", "forescale-tests"), ("PolicyName", "all"), ("PolicyDocument", policy)])
        let http = HTTPClient()
        let reset = try await http.execute(
            HTTPRequest(
                method: "POST", url: "\(endpoint)/moto-api/reset-auth", headers: ["Content-Type": "text/plain"],
                body: Data("0".utf8)))
        guard reset.isSuccess else { throw MotoError.bootstrapFailed }
        return Moto(
            process: process, endpoint: endpoint, credentials: AWSCredentials(accessKeyID: id, secretAccessKey: secret))
    }

    public func client(region: String = "us-east-1", credentials: AWSCredentials? = nil) -> AWSClient {
        AWSClient(
            configuration: AWSConfiguration(
                region: region, credentials: credentials ?? self.credentials, endpoint: endpoint, maxAttempts: 1))
    }

    public func stop() { process.stop() }

    /// A launch configuration and an Auto Scaling group in us-east-1a (min 1, max 10).
    /// A group in moto; `namespace` tags it `forescale.io/namespace=<namespace>`, as its owner would to let that
    /// namespace's policies scale it.
    public func createAutoScalingGroup(_ name: String, desired: Int, namespace: String? = nil) async throws {
        try await AutoScalingAPI(client: client()).createGroup(
            name, desired: desired, tags: namespace.map { ["forescale.io/namespace": $0] } ?? [:])
    }

    public enum MotoError: Error {
        case bootstrapFailed
    }
}
