import Foundation
import TestSupport
import Testing

@testable import AWSSigning

/// RFC 4231 HMAC-SHA256 vectors, then both SigV4 suites stage by stage
/// (Tests/Fixtures/sigv4, Apache-2.0, see SOURCE.md there).
@Suite("HMAC-SHA256 (RFC 4231)")
struct HMACTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test(
        "test cases 1–4, 6, 7",
        arguments: [
            (
                String(repeating: "0b", count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                "4a656665", Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                String(repeating: "aa", count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                "0102030405060708090a0b0c0d0e0f10111213141516171819", [UInt8](repeating: 0xcd, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            (
                String(repeating: "aa", count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                String(repeating: "aa", count: 131),
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ])
    func rfc4231(key: String, message: [UInt8], expected: String) {
        #expect(HMACSHA256.authenticationCode(key: Self.bytes(key), message: message).hexString == expected)
    }

    @Test func truncatedTestCase5() {
        let mac = HMACSHA256.authenticationCode(
            key: [UInt8](repeating: 0x0c, count: 20), message: Array("Test With Truncation".utf8))
        #expect(mac.prefix(16).hexString == "a3b6167473100ee06e0c796c2955552b")
    }
}

/// A raw HTTP request as the suites write it.
struct RawRequest {
    var method: String
    var path: String
    var query: [(name: String, value: String)]
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(_ text: String) {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        let words = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        method = String(words.first!)
        let target = words.dropFirst().dropLast().joined(separator: " ")
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0]).removingPercentEncoding ?? String(parts[0])
        query =
            parts.count > 1 && !parts[1].isEmpty
            ? parts[1].split(separator: "&").map { pair in
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                let value = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
                return (name: name, value: value)
            } : []
        headers = []
        var bodyLines: [String]? = nil
        for line in lines {
            if bodyLines != nil {
                bodyLines!.append(line)
                continue
            }
            if line.isEmpty {
                bodyLines = []
                continue
            }
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line
                continue
            }
            let colon = line.firstIndex(of: ":")!
            headers.append((name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
        }
        body = Array((bodyLines ?? []).joined(separator: "\n").utf8)
    }

    var signerRequest: SigV4Signer.Request {
        SigV4Signer.Request(method: method, path: path, query: query, headers: headers, body: body)
    }
}

@Suite("SigV4: aws-c-auth v4 suite (38 cases)")
struct AWSCAuthSuiteTests {
    struct Context: Decodable {
        struct Credentials: Decodable {
            var accessKeyID: String
            var secretAccessKey: String
            var token: String?

            enum CodingKeys: String, CodingKey {
                case accessKeyID = "access_key_id"
                case secretAccessKey = "secret_access_key"
                case token
            }
        }
        var credentials: Credentials
        var normalize: Bool
        var region: String
        var service: String
        var signBody: Bool
        var timestamp: String
        var omitSessionToken: Bool?

        enum CodingKeys: String, CodingKey {
            case credentials, normalize, region, service, timestamp
            case signBody = "sign_body"
            case omitSessionToken = "omit_session_token"
        }
    }

    static let directory = Fixtures.path("sigv4/aws-c-auth-v4")
    static let cases: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/context.json") }.sorted()

    static func read(_ name: String, _ file: String) throws -> String {
        try String(contentsOfFile: "\(directory)/\(name)/\(file)", encoding: .utf8)
    }

    @Test func suiteIsComplete() {
        #expect(Self.cases.count == 38)
    }

    @Test(arguments: cases)
    func headerSigning(name: String) throws {
        let context = try JSONDecoder().decode(Context.self, from: Data(try Self.read(name, "context.json").utf8))
        let request = RawRequest(try Self.read(name, "request.txt"))
        let date = try #require(ISO8601DateFormatter().date(from: context.timestamp))
        let signer = SigV4Signer(
            service: context.service, region: context.region, normalizesPath: context.normalize,
            signsPayloadHash: context.signBody, omitsSessionTokenFromSignature: context.omitSessionToken ?? false)
        let credentials = AWSCredentials(
            accessKeyID: context.credentials.accessKeyID, secretAccessKey: context.credentials.secretAccessKey,
            sessionToken: context.credentials.token)
        let signed = signer.sign(request.signerRequest, credentials: credentials, date: date)
        // Each stage on its own, so a failure names the stage.
        #expect(signed.canonicalRequest == (try Self.read(name, "header-canonical-request.txt")), "canonical request")
        #expect(signed.stringToSign == (try Self.read(name, "header-string-to-sign.txt")), "string to sign")
        #expect(
            signed.signature
                == (try Self.read(name, "header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines),
            "signature")
        let expectedAuthorization = try Self.read(name, "header-signed-request.txt").components(separatedBy: "\n")
            .first { $0.hasPrefix("Authorization:") }.map { String($0.dropFirst("Authorization:".count)) }
        #expect(signed.authorization == expectedAuthorization, "Authorization header")
    }
}

@Suite("SigV4: original AWS test suite (34 cases)")
struct AWS4TestSuiteTests {
    static let directory = Fixtures.path("sigv4/aws4_testsuite")
    static let cases: [String] = {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: directory) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".req") }.map { String($0.dropLast(4)) }
            .sorted()
    }()

    static func read(_ path: String, _ suffix: String) throws -> String {
        try String(contentsOfFile: "\(directory)/\(path).\(suffix)", encoding: .utf8)
    }

    @Test func suiteIsComplete() {
        #expect(Self.cases.count == 34)
    }

    @Test(arguments: cases)
    func headerSigning(path: String) throws {
        let request = RawRequest(try Self.read(path, "req"))
        let signedRequest = RawRequest(try Self.read(path, "sreq"))
        let date = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
        // Session-token cases: the token is the one the signed request (.sreq) carries; per the
        // suite's post-sts-token/readme.txt, "header-after" adds it after signing.
        let hasTokenInRequest = request.headers.contains { $0.name.lowercased() == "x-amz-security-token" }
        let token =
            hasTokenInRequest
            ? nil : signedRequest.headers.first { $0.name.lowercased() == "x-amz-security-token" }?.value
        let signer = SigV4Signer(
            service: "service", region: "us-east-1",
            omitsSessionTokenFromSignature: path.hasSuffix("post-sts-header-after"))
        let credentials = AWSCredentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: token
        )
        let signed = signer.sign(request.signerRequest, credentials: credentials, date: date)
        if let token {
            #expect(
                signed.headers.contains { $0.name == "X-Amz-Security-Token" && $0.value == token }, "token header sent")
        }
        #expect(signed.canonicalRequest == (try Self.read(path, "creq")), "canonical request")
        #expect(signed.stringToSign == (try Self.read(path, "sts")), "string to sign")
        #expect(
            signed.authorization == (try Self.read(path, "authz")).trimmingCharacters(in: .whitespacesAndNewlines),
            "Authorization")
    }
}

@Suite("Credentials")
struct CredentialsTests {
    @Test func descriptionNeverShowsSecrets() {
        let credentials = AWSCredentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            sessionToken: "tok-secret")
        let text = "\(credentials) \(String(reflecting: credentials))"
        #expect(!text.contains("wJalrXUtnFEMI") && !text.contains("tok-secret"))
        #expect(text.contains("AKIDEXAMPLE"))
    }
}
