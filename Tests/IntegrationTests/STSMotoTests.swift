import AWSSigning
import Cloud
import Foundation
import TestSupport
import Testing
import Transport

/// STS web identity against moto: assume a role with a token, then use the temporary
/// credentials (session token signed) for other calls.
@Suite("STS against moto (signatures checked)")
struct STSMotoTests {
    @Test func assumeRoleWithWebIdentityAndUseTheCredentials() async throws {
        let moto = try await Moto.start()
        defer { moto.stop() }
        let admin = moto.client()
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.eks.example"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try await admin.query(
            service: "iam", sdkID: "IAM", action: "CreateRole", version: "2010-05-08",
            parameters: [("RoleName", "forescale-controller"), ("AssumeRolePolicyDocument", trust)])
        _ = try await admin.query(
            service: "iam", sdkID: "IAM", action: "PutRolePolicy", version: "2010-05-08",
            parameters: [("RoleName", "forescale-controller"), ("PolicyName", "all"), ("PolicyDocument", policy)])

        // moto cannot pass an unsigned call while signatures are enforced (it answers 500);
        // one free request is granted for exactly that call, then checking resumes.
        let reset = try await HTTPClient().execute(
            HTTPRequest(
                method: "POST", url: "\(moto.endpoint)/moto-api/reset-auth", headers: ["Content-Type": "text/plain"],
                body: Data("1".utf8)))
        #expect(reset.isSuccess)
        let anonymous = moto.client(credentials: AWSCredentials(accessKeyID: "", secretAccessKey: ""))
        let temporary = try await STSAPI(client: anonymous).assumeRoleWithWebIdentity(
            roleARN: "arn:aws:iam::123456789012:role/forescale-controller", sessionName: "forescale",
            webIdentityToken: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", durationSeconds: 900)
        #expect(temporary.credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(temporary.credentials.sessionToken?.isEmpty == false)
        #expect(temporary.expiration > Date())

        let assumed = moto.client(credentials: temporary.credentials)
        let arn = try await STSAPI(client: assumed).getCallerIdentity()
        #expect(arn.contains("assumed-role/forescale-controller/forescale"))
        // The temporary credentials work for the APIs the controller uses.
        let groups = try await AutoScalingAPI(client: assumed).describeAutoScalingGroups()
        #expect(groups.isEmpty)
    }
}
