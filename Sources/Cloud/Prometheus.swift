import Foundation
import KubeCore
import Transport

/// Where the controller finds Prometheus, and how it proves who it is. Credentials are read
/// from their files on every request (they rotate) and never appear in errors, status,
/// Events or logs.
public struct PrometheusConfiguration: Sendable {
    /// The default server, e.g. `http://prometheus.monitoring:9090`.
    public var url: String?
    public var bearerTokenFile: String?
    /// `user:password` on the first line.
    public var basicAuthFile: String?
    public var caFile: String?
    /// Extra header fields for requests to the default server only (`X-Scope-OrgID: tenant` for Mimir or
    /// Thanos).
    public var headers: [(name: String, value: String)]

    public init(
        url: String? = nil, bearerTokenFile: String? = nil, basicAuthFile: String? = nil, caFile: String? = nil,
        headers: [(name: String, value: String)] = []
    ) {
        self.url = url
        self.bearerTokenFile = bearerTokenFile
        self.basicAuthFile = basicAuthFile
        self.caFile = caFile
        self.headers = headers
    }
}

/// A failed Prometheus call, classified by what a person should do about it.
public enum PrometheusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer (connection refused, DNS, timeout, 5xx): wait it out.
    case unreachable(String)
    /// Prometheus refused the query (`bad_data`, 4xx): its own message, to fix the query.
    case badQuery(String)
    /// An answer this client cannot read.
    case malformed(String)
    /// The configured credentials could not be read.
    case credentials(String)

    public var description: String {
        switch self {
        case .unreachable(let detail): "Prometheus unreachable: \(detail)"
        case .badQuery(let detail): "Prometheus rejected the query: \(detail)"
        case .malformed(let detail): "unreadable answer from Prometheus: \(detail)"
        case .credentials(let detail): "Prometheus credentials: \(detail)"
        }
    }
}

/// One series of a range query: its labels and its finite samples (NaN and ±Inf, which
/// Prometheus returns as strings, are gaps).
public struct PrometheusSeries: Sendable, Equatable {
    public var labels: [String: String]
    public var points: [(time: Date, value: Double)]

    public static func == (lhs: PrometheusSeries, rhs: PrometheusSeries) -> Bool {
        lhs.labels == rhs.labels && lhs.points.map(\.time) == rhs.points.map(\.time)
            && lhs.points.map(\.value) == rhs.points.map(\.value)
    }
}

/// The Prometheus HTTP API (`/api/v1/query_range`, `/api/v1/query`).
public struct PrometheusAPI: Sendable {
    /// Prometheus refuses more than 11,000 points per series in one range query.
    public static let maxPointsPerQuery = 10_000

    public let client: HTTPClient
    public let baseURL: String
    private let credentials: Bool
    private let headers: [(name: String, value: String)]
    private let configuration: PrometheusConfiguration

    /// The most a query's answer may hold (a 14-day window at 5-minute steps is about 0.5 MB per series).
    public static let maxResponseBytes = 32 << 20

    /// `address` nil: the configured default server, with its credentials and header fields. Another
    /// server (allowed for the policy's namespace by the operator's access rules) gets no credentials and
    /// only the header fields configured for it.
    public init(
        client: HTTPClient, configuration: PrometheusConfiguration, address: EndpointURL? = nil,
        headers: [(name: String, value: String)] = []
    ) throws(PrometheusError) {
        self.client = client
        self.configuration = configuration
        if let address {
            baseURL = address.description
            credentials = false
            self.headers = headers
            return
        }
        guard let url = configuration.url, let parsed = try? EndpointURL(parsing: url) else {
            throw .badQuery("no Prometheus server configured (forescale-controller --prometheus-url)")
        }
        baseURL = parsed.description
        credentials = true
        self.headers = configuration.headers
    }

    /// Samples of `query` from `start` to `end` every `step`, in chunks of at most
    /// `maxPointsPerQuery` points, merged per series.
    public func queryRange(_ query: String, start: Date, end: Date, step: Double) async throws(PrometheusError)
        -> [PrometheusSeries]
    {
        guard step >= 1, end >= start else { return [] }
        var merged: [[String: String]: [(Date, Double)]] = [:]
        var order: [[String: String]] = []
        var chunkStart = start
        let span = step * Double(Self.maxPointsPerQuery - 1)
        while chunkStart <= end {
            let chunkEnd = min(end, chunkStart.addingTimeInterval(span))
            let data = try await get(
                "/api/v1/query_range",
                [
                    ("query", query), ("start", Self.seconds(chunkStart)), ("end", Self.seconds(chunkEnd)),
                    ("step", Self.seconds(step)),
                ])
            for series in try Self.matrix(data) {
                if merged[series.labels] == nil { order.append(series.labels) }
                merged[series.labels, default: []].append(contentsOf: series.points)
            }
            chunkStart = chunkEnd.addingTimeInterval(step)
        }
        return order.map { labels in
            PrometheusSeries(labels: labels, points: merged[labels]!.map { (time: $0.0, value: $0.1) })
        }
    }

    /// The server and the header fields sent to it: two APIs with the same identity get the same answers.
    public var identity: String {
        ([baseURL, credentials ? "credentials" : ""] + headers.map { "\($0.name): \($0.value)" }).joined(
            separator: "\n")
    }

    /// `query` evaluated at `time` (an instant query): each series' newest value within Prometheus's lookback,
    /// as one point at `time`. A series whose target stopped answering is gone (Prometheus marks it stale).
    public func query(_ query: String, at time: Date) async throws(PrometheusError) -> [PrometheusSeries] {
        try Self.vector(await get("/api/v1/query", [("query", query), ("time", Self.seconds(time))]))
    }

    static func seconds(_ date: Date) -> String { seconds(date.timeIntervalSince1970) }
    static func seconds(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3f", value)
    }

    private func get(_ path: String, _ parameters: [(String, String)]) async throws(PrometheusError) -> JSONValue {
        var components = URLComponents()
        components.queryItems = parameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        // `+` is a space in a query string: encode it (PromQL uses it for addition).
        let query = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        var headers = HTTPHeaders([("Accept", "application/json")])
        for (name, value) in self.headers { headers.add(name, value) }
        if credentials {
            if let file = configuration.bearerTokenFile {
                guard let token = Self.firstLine(file) else { throw .credentials("cannot read the bearer token file") }
                headers.set("Authorization", "Bearer \(token)")
            } else if let file = configuration.basicAuthFile {
                guard let pair = Self.firstLine(file), pair.contains(":") else {
                    throw .credentials("cannot read user:password from the basic auth file")
                }
                headers.set("Authorization", "Basic \(Data(pair.utf8).base64EncodedString())")
            }
        }
        let response: HTTPResponse
        do {
            response = try await client.execute(
                HTTPRequest(
                    method: "GET", url: baseURL + path + "?" + query, headers: headers, timeout: .seconds(30),
                    maxResponseBytes: Self.maxResponseBytes))
        } catch {
            throw .unreachable(Self.redacted("\(error)"))
        }
        let body = try? JSONValue(parsing: response.body)
        if let body, body["status"] == "error" {
            let message = Self.withoutLabelSets(
                "\(body["errorType"]?.stringValue ?? "error"): \(body["error"]?.stringValue ?? "")")
            throw (400..<500).contains(response.status)
                ? .badQuery(message) : .unreachable("HTTP \(response.status): \(message)")
        }
        guard (200..<300).contains(response.status) else {
            let text = Self.withoutLabelSets(String(decoding: response.body.prefix(300), as: UTF8.self))
            throw (400..<500).contains(response.status) && response.status != 429
                ? .badQuery("HTTP \(response.status): \(text)") : .unreachable("HTTP \(response.status): \(text)")
        }
        guard let body, body["status"] == "success", let data = body["data"] else {
            throw .malformed("no data in the answer")
        }
        return data
    }

    /// A `matrix` result: `[{"metric": {…}, "values": [[1700000000, "1.5"], …]}, …]`.
    static func matrix(_ data: JSONValue) throws(PrometheusError) -> [PrometheusSeries] {
        guard data["resultType"] == "matrix", let results = data["result"]?.arrayValue else {
            throw .malformed("expected a matrix, got \(data["resultType"]?.stringValue ?? "nothing")")
        }
        return results.map { result in
            let points = (result["values"]?.arrayValue ?? []).compactMap { pair -> (time: Date, value: Double)? in
                guard let items = pair.arrayValue, items.count == 2, let time = items[0].doubleValue, time.isFinite,
                    let text = items[1].stringValue, let value = Double(text), value.isFinite
                else { return nil }
                return (Date(timeIntervalSince1970: time), value)
            }
            return PrometheusSeries(labels: result["metric"]?.stringMap ?? [:], points: points)
        }
    }

    /// A `vector` result: `[{"metric": {…}, "value": [1700000000, "1.5"]}, …]` (a `scalar` is one unlabelled series).
    static func vector(_ data: JSONValue) throws(PrometheusError) -> [PrometheusSeries] {
        func point(_ pair: JSONValue?) -> (time: Date, value: Double)? {
            guard let items = pair?.arrayValue, items.count == 2, let time = items[0].doubleValue, time.isFinite,
                let text = items[1].stringValue, let value = Double(text), value.isFinite
            else { return nil }
            return (Date(timeIntervalSince1970: time), value)
        }
        switch data["resultType"]?.stringValue {
        case "vector":
            return (data["result"]?.arrayValue ?? []).map { result in
                PrometheusSeries(
                    labels: result["metric"]?.stringMap ?? [:], points: point(result["value"]).map { [$0] } ?? [])
            }
        case "scalar":
            return [PrometheusSeries(labels: [:], points: point(data["result"]).map { [$0] } ?? [])]
        default:
            throw .malformed("expected a vector, got \(data["resultType"]?.stringValue ?? "nothing")")
        }
    }

    static func firstLine(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 64 * 1024 else { return nil }
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)?
            .trimmingCharacters(in: .whitespaces)
        return line?.isEmpty == false ? line : nil
    }

    /// Prometheus's own messages quote the label sets of the series they are about ("found duplicate series
    /// for the match group {instance=\"…\"} …"): a query may match series of other tenants, and the message
    /// goes into the policy's status, so every `{…}` is replaced by `{…}` without its labels.
    static func withoutLabelSets(_ text: String) -> String {
        var result = ""
        var depth = 0
        for character in text {
            if character == "{" {
                if depth == 0 { result.append("{…}") }
                depth += 1
            } else if character == "}", depth > 0 {
                depth -= 1
            } else if depth == 0 {
                result.append(character)
            }
        }
        return result
    }

    /// Transport errors never carry credentials, but URLs may carry user info: drop it.
    static func redacted(_ text: String) -> String {
        text.replacingOccurrences(of: #"://[^/@\s]+@"#, with: "://", options: .regularExpression)
    }
}
