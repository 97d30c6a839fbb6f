import AWSSigning
import Foundation
import Synchronization
import TestSupport
import Testing
import Transport

@testable import Cloud

/// Retries and error parsing against our own HTTP server scripted to answer like AWS.
@Suite("AWS client retries and errors")
struct AWSClientRetryTests {
    /// A server that answers each request with the next scripted (status, content type, body).
    final class Shared<Value: Sendable>: Sendable {
        let state: Mutex<Value>
        init(_ value: Value) { state = Mutex(value) }
        func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { state.withLock { body(&$0) } }
    }

    static func scriptedServer(_ script: [(Int, String, String)]) throws -> (HTTPServer, Shared<Int>) {
        let count = Shared(0)
        let server = HTTPServer { _, writer in
            let index = count.withLock { value -> Int in
                defer { value += 1 }
                return value
            }
            let (status, type, body) = script[min(index, script.count - 1)]
            writer.respond(
                status: status, headers: ["Content-Type": type, "x-amzn-RequestId": "req-\(index)"],
                body: Data(body.utf8))
        }
        try server.start()
        return (server, count)
    }

    static func client(port: Int, attempts: Int, delays: Shared<[Duration]>) -> AWSClient {
        AWSClient(
            configuration: AWSConfiguration(
                region: "us-east-1", credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret"),
                endpoint: "http://127.0.0.1:\(port)", maxAttempts: attempts),
            sleep: { delay in delays.withLock { $0.append(delay) } })
    }

    static let throttled = (
        400, "text/xml",
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r1</RequestId></ErrorResponse>"
    )
    static let ok = (
        200, "text/xml",
        "<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups/></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>"
    )

    @Test func throttlingAndServerErrorsAreRetriedWithJitteredBackoff() async throws {
        let (server, count) = try Self.scriptedServer([
            Self.throttled, (503, "text/html", "<html><title>Service Unavailable</title></html>"), Self.ok,
        ])
        defer { server.shutdown(gracePeriod: .zero) }
        let delays = Shared<[Duration]>([])
        let groups = try await AutoScalingAPI(client: Self.client(port: server.port, attempts: 4, delays: delays))
            .describeAutoScalingGroups()
        #expect(groups.isEmpty)
        #expect(count.withLock { $0 } == 3)
        let recorded = delays.withLock { $0 }
        #expect(recorded.count == 2)
        // Full jitter: each delay lies in [0, 100 ms · 2^attempt].
        #expect(recorded[0] <= .milliseconds(200) && recorded[1] <= .milliseconds(400))
    }

    @Test func attemptsAreBoundedAndTheLastErrorIsTyped() async throws {
        let (server, count) = try Self.scriptedServer([Self.throttled])
        defer { server.shutdown(gracePeriod: .zero) }
        let delays = Shared<[Duration]>([])
        do {
            _ = try await AutoScalingAPI(client: Self.client(port: server.port, attempts: 3, delays: delays))
                .describeAutoScalingGroups()
            Issue.record("expected Throttling")
        } catch let error as AWSError {
            guard case .api(let status, let code, let message, let requestID) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(status == 400 && code == "Throttling" && message == "Rate exceeded")
            #expect(requestID == "req-2")
        }
        #expect(count.withLock { $0 } == 3)
    }

    @Test(
        "errors are parsed from every format",
        arguments: [
            (
                400, "text/xml",
                "<ErrorResponse><Error><Code>ValidationError</Code><Message>bad size</Message></Error></ErrorResponse>",
                "ValidationError", "bad size"
            ),
            (
                400, "application/x-amz-json-1.0",
                #"{"__type":"com.amazonaws#InvalidParameterValueException","message":"no such metric"}"#,
                "InvalidParameterValueException", "no such metric"
            ),
            (
                404, "application/xml",
                "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>abc</RequestId></Error>",
                "NoSuchKey", "The specified key does not exist."
            ),
            (
                500, "text/html", "<!doctype html><html><head><title>500 Internal Server Error</title></head></html>",
                "HTTP500", "500 Internal Server Error"
            ),
        ])
    func errorFormats(status: Int, type: String, body: String, code: String, message: String) async throws {
        let (server, _) = try Self.scriptedServer([(status, type, body)])
        defer { server.shutdown(gracePeriod: .zero) }
        let delays = Shared<[Duration]>([])
        do {
            _ = try await Self.client(port: server.port, attempts: 1, delays: delays).query(
                service: "autoscaling", sdkID: "AUTO_SCALING", action: "X", version: "1", parameters: [])
            Issue.record("expected an error")
        } catch let error as AWSError {
            #expect(error.code == code)
            guard case .api(_, _, let parsed, _) = error else { return }
            #expect(parsed == message)
        }
    }
}

@Suite("AWS endpoints and scaling activities")
struct AWSEndpointTests {
    @Test func endpointOverridesFollowTheSDKOrder() {
        let credentials = AWSCredentials(accessKeyID: "a", secretAccessKey: "b")
        let plain = AWSConfiguration(region: "us-east-2", credentials: credentials, environment: [:])
        #expect(
            plain.endpoint(service: "autoscaling", sdkID: "AUTO_SCALING")
                == "https://autoscaling.us-east-2.amazonaws.com")
        let global = AWSConfiguration(
            region: "us-east-2", credentials: credentials, environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:4566"])
        #expect(global.endpoint(service: "monitoring", sdkID: "CLOUDWATCH") == "http://127.0.0.1:4566")
        let specific = AWSConfiguration(
            region: "us-east-2", credentials: credentials,
            environment: [
                "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
                "AWS_ENDPOINT_URL_AUTO_SCALING": "https://vpce-123.autoscaling.example",
            ])
        #expect(
            specific.endpoint(service: "autoscaling", sdkID: "AUTO_SCALING") == "https://vpce-123.autoscaling.example")
        #expect(specific.endpoint(service: "monitoring", sdkID: "CLOUDWATCH") == "http://127.0.0.1:4566")
        #expect(S3API(client: AWSClient(configuration: plain)).path(bucket: "b", key: "k/x") == "/k/x")
        #expect(S3API(client: AWSClient(configuration: global)).path(bucket: "b", key: "k/x") == "/b/k/x")
    }

    @Test func scalingActivitiesAreParsed() async throws {
        let body = """
            <DescribeScalingActivitiesResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">\
            <DescribeScalingActivitiesResult><Activities>
            <member><ActivityId>a-1</ActivityId><AutoScalingGroupName>web-asg</AutoScalingGroupName><Description>\
            Launching a new EC2 instance</Description>
            <Cause>forescale: predicted load 412 at 12:40</Cause><StartTime>2026-11-29T01:00:00.123Z</StartTime>\
            <StatusCode>Successful</StatusCode></member>
            </Activities></DescribeScalingActivitiesResult></DescribeScalingActivitiesResponse>
            """
        let (server, _) = try AWSClientRetryTests.scriptedServer([(200, "text/xml", body)])
        defer { server.shutdown(gracePeriod: .zero) }
        let delays = AWSClientRetryTests.Shared<[Duration]>([])
        let activities = try await AutoScalingAPI(
            client: AWSClientRetryTests.client(port: server.port, attempts: 1, delays: delays)
        ).describeScalingActivities(groupName: "web-asg")
        #expect(activities.count == 1)
        #expect(activities.first?.activityID == "a-1")
        #expect(activities.first?.cause == "forescale: predicted load 412 at 12:40")
        #expect(activities.first?.statusCode == "Successful")
        #expect(abs((activities.first?.startTime?.timeIntervalSince1970 ?? 0) - 1_795_914_000.123) < 0.001)
    }
}

@Suite("CloudWatch paging")
struct CloudWatchPagingTests {
    /// moto never returns NextToken, so paging is checked against a scripted two-page answer.
    @Test func getMetricDataFollowsNextToken() async throws {
        func page(_ times: [String], _ values: [Double], next: String?) -> (Int, String, String) {
            let stamps = times.map { "<member>\($0)</member>" }.joined()
            let numbers = values.map { "<member>\($0)</member>" }.joined()
            return (
                200, "text/xml",
                """
                <GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member><Id>cpu</Id><Label>cpu</Label>
                <Timestamps>\(stamps)</Timestamps><Values>\(numbers)</Values><StatusCode>PartialData</StatusCode>\
                </member></MetricDataResults>
                \(next.map { "<NextToken>\($0)</NextToken>" } ?? "")</GetMetricDataResult></GetMetricDataResponse>
                """
            )
        }
        let (server, count) = try AWSClientRetryTests.scriptedServer([
            page(["2026-11-29T00:05:00Z", "2026-11-29T00:00:00Z"], [2, 1], next: "page-2"),
            page(["2026-11-29T00:10:00Z"], [3], next: nil),
        ])
        defer { server.shutdown(gracePeriod: .zero) }
        let delays = AWSClientRetryTests.Shared<[Duration]>([])
        let api = CloudWatchAPI(client: AWSClientRetryTests.client(port: server.port, attempts: 1, delays: delays))
        let series = try await api.getMetricData(
            [
                MetricQuery(
                    id: "cpu", metric: MetricIdentity(namespace: "AWS/EC2", name: "CPUUtilization"), periodSeconds: 300,
                    statistic: "Average")
            ],
            start: Date(timeIntervalSince1970: 1_795_910_400), end: Date(timeIntervalSince1970: 1_795_911_300))
        #expect(count.withLock { $0 } == 2)
        #expect(series.first?.points.map(\.value) == [1, 2, 3])
    }
}
