import Foundation
import TestSupport
import Testing

@testable import AWSSigning

/// Our signatures against botocore's for requests shaped like the ones Forescale sends
/// (Query-protocol POSTs, JSON-protocol POSTs, S3 PUT/GET with odd keys, session tokens).
@Suite("SigV4 cross-checked against botocore")
struct SigV4OracleTests {
    struct Case {
        var method: String
        var host: String
        var path: String
        var query: [(name: String, value: String)]
        var headers: [(name: String, value: String)]
        var body: String
        var service: String
        var token: String?
        var s3: Bool
    }

    static let cases: [Case] = [
        Case(
            method: "POST", host: "autoscaling.us-east-2.amazonaws.com", path: "/", query: [],
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body:
                "Action=SetDesiredCapacity&AutoScalingGroupName=web-asg&DesiredCapacity=4&HonorCooldown=false&Version=2011-01-01",
            service: "autoscaling", token: nil, s3: false),
        Case(
            method: "POST", host: "monitoring.us-east-2.amazonaws.com", path: "/", query: [],
            headers: [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "GraniteServiceVersion20100801.GetMetricData"),
            ],
            body: #"{"StartTime":1700000000,"EndTime":1700003600,"MetricDataQueries":[{"Id":"cpu"}]}"#,
            service: "monitoring", token: "FwoGZXIvYXdzEXAMPLETOKEN//+=", s3: false),
        Case(
            method: "PUT", host: "model-artefacts.s3.us-east-2.amazonaws.com",
            path: "/models/web asg/v1+weights~(1).fsm", query: [],
            headers: [("Content-Type", "application/octet-stream")], body: "weights", service: "s3", token: nil,
            s3: true),
        Case(
            method: "PUT", host: "model-artefacts.s3.us-east-2.amazonaws.com",
            path: "/models/web/2026-11-29T10:00:00Z/a=b&c,d;e@f$g/./x//y.fsm", query: [],
            headers: [], body: "v", service: "s3", token: nil, s3: true),
        Case(
            method: "GET", host: "s3.us-east-2.amazonaws.com", path: "/model-artefacts",
            query: [("list-type", "2"), ("prefix", "models/web:2026/"), ("start-after", "a b+c")],
            headers: [], body: "", service: "s3", token: nil, s3: true),
        Case(
            method: "GET", host: "s3.us-east-2.amazonaws.com", path: "/model-artefacts/models/ünïcode/key",
            query: [("versionId", "3/L4kqtJl40Nr8X8gdRQBpUMLUo"), ("list-type", "2")],
            headers: [], body: "", service: "s3", token: "session/token==", s3: true),
        Case(
            method: "GET", host: "sts.amazonaws.com", path: "/",
            query: [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
            headers: [], body: "", service: "sts", token: nil, s3: false),
    ]

    @Test func signaturesMatchBotocore() async throws {
        let date = Date(timeIntervalSince1970: 1_764_380_000)
        let amzDate = SigV4Signer.amzDate(date)
        let credentials = (access: "AKIAFORESCALETEST", secret: "forescale/Secret+Key/For/Tests0123456789")
        var payload: [[String: Any]] = []
        var ours: [SigV4Signer.Signed] = []
        for testCase in Self.cases {
            let signer = SigV4Signer(
                service: testCase.service, region: "us-east-2", normalizesPath: !testCase.s3,
                signsPayloadHash: testCase.s3)
            let request = SigV4Signer.Request(
                method: testCase.method, path: testCase.path, query: testCase.query,
                headers: [("Host", testCase.host)] + testCase.headers, body: Array(testCase.body.utf8))
            ours.append(
                signer.sign(
                    request,
                    credentials: AWSCredentials(
                        accessKeyID: credentials.access, secretAccessKey: credentials.secret,
                        sessionToken: testCase.token), date: date))
            let encodedPath = SigV4Signer.percentEncode(testCase.path, keepingSlash: true)
            let query = SigV4Signer.canonicalQuery(testCase.query)
            var entry: [String: Any] = [
                "method": testCase.method,
                "url": "https://\(testCase.host)\(encodedPath)\(query.isEmpty ? "" : "?" + query)",
                "headers": testCase.headers.map { [$0.name, $0.value] }, "body": testCase.body,
                "region": "us-east-2", "service": testCase.service, "access_key": credentials.access,
                "secret_key": credentials.secret,
                "amz_date": amzDate, "s3": testCase.s3,
            ]
            if let token = testCase.token { entry["token"] = token }
            payload.append(entry)
        }
        let input = try JSONSerialization.data(withJSONObject: payload)
        let result = try await Subprocess.run("python3", [Fixtures.path("peers/botocore_sign.py")], input: input)
        try #require(result.status == 0, "botocore oracle failed: \(result.stderr)")
        let oracle = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: String]])
        #expect(oracle.count == ours.count)
        for (index, (expected, actual)) in zip(oracle, ours).enumerated() {
            #expect(actual.canonicalRequest == expected["canonical_request"], "case \(index): canonical request")
            #expect(actual.stringToSign == expected["string_to_sign"], "case \(index): string to sign")
            #expect(actual.signature == expected["signature"], "case \(index): signature")
        }
    }
}
