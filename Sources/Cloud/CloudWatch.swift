import Foundation

/// One metric (namespace, name, dimensions).
public struct MetricIdentity: Sendable, Equatable, Hashable {
    public var namespace: String
    public var name: String
    public var dimensions: [String: String]

    public init(namespace: String, name: String, dimensions: [String: String] = [:]) {
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions
    }
}

/// A GetMetricData query: one statistic of one metric at one period.
public struct MetricQuery: Sendable, Equatable {
    public var id: String
    public var metric: MetricIdentity
    public var periodSeconds: Int
    public var statistic: String

    public init(id: String, metric: MetricIdentity, periodSeconds: Int, statistic: String) {
        self.id = id
        self.metric = metric
        self.periodSeconds = periodSeconds
        self.statistic = statistic
    }
}

public struct MetricSeries: Sendable, Equatable {
    public var id: String
    public var points: [(timestamp: Date, value: Double)]

    public init(id: String, points: [(timestamp: Date, value: Double)]) {
        self.id = id
        self.points = points
    }

    public static func == (lhs: MetricSeries, rhs: MetricSeries) -> Bool {
        lhs.id == rhs.id
            && lhs.points.elementsEqual(rhs.points) { $0.timestamp == $1.timestamp && $0.value == $1.value }
    }
}

/// CloudWatch (Query protocol, API version 2010-08-01).
public struct CloudWatchAPI: Sendable {
    public let client: AWSClient
    static let version = "2010-08-01"

    public init(client: AWSClient) {
        self.client = client
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func parseTimestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    private static func dimensionParameters(_ prefix: String, _ dimensions: [String: String]) -> [(String, String)] {
        dimensions.sorted { $0.key < $1.key }.enumerated().flatMap { index, dimension in
            [
                ("\(prefix).Dimensions.member.\(index + 1).Name", dimension.key),
                ("\(prefix).Dimensions.member.\(index + 1).Value", dimension.value),
            ]
        }
    }

    /// PutMetricData in batches (AWS accepts up to 1,000 values per call).
    public func putMetricData(
        _ metric: MetricIdentity, points: [(timestamp: Date, value: Double)], batchSize: Int = 500
    ) async throws {
        var start = 0
        while start < points.count {
            let batch = points[start..<min(points.count, start + batchSize)]
            var parameters: [(String, String)] = [("Namespace", metric.namespace)]
            for (offset, point) in batch.enumerated() {
                let prefix = "MetricData.member.\(offset + 1)"
                parameters.append(("\(prefix).MetricName", metric.name))
                parameters += Self.dimensionParameters(prefix, metric.dimensions)
                parameters.append(("\(prefix).Timestamp", Self.timestamp(point.timestamp)))
                parameters.append(("\(prefix).Value", String(point.value)))
            }
            _ = try await client.query(
                service: "monitoring", sdkID: "CLOUDWATCH", action: "PutMetricData", version: Self.version,
                parameters: parameters)
            start += batchSize
        }
    }

    /// GetMetricData for several queries in one call, following NextToken; points ascending.
    public func getMetricData(_ queries: [MetricQuery], start: Date, end: Date) async throws -> [MetricSeries] {
        var collected: [String: [(timestamp: Date, value: Double)]] = [:]
        var token: String?
        repeat {
            var parameters: [(String, String)] = [
                ("StartTime", Self.timestamp(start)), ("EndTime", Self.timestamp(end)),
                ("ScanBy", "TimestampAscending"),
            ]
            for (index, query) in queries.enumerated() {
                let prefix = "MetricDataQueries.member.\(index + 1)"
                parameters += [
                    ("\(prefix).Id", query.id),
                    ("\(prefix).MetricStat.Metric.Namespace", query.metric.namespace),
                    ("\(prefix).MetricStat.Metric.MetricName", query.metric.name),
                    ("\(prefix).MetricStat.Period", String(query.periodSeconds)),
                    ("\(prefix).MetricStat.Stat", query.statistic),
                    ("\(prefix).ReturnData", "true"),
                ]
                parameters += Self.dimensionParameters("\(prefix).MetricStat.Metric", query.metric.dimensions)
            }
            if let token { parameters.append(("NextToken", token)) }
            let root = try await client.queryXML(
                service: "monitoring", sdkID: "CLOUDWATCH", action: "GetMetricData", version: Self.version,
                parameters: parameters)
            for result in root.elements(path: ["GetMetricDataResult", "MetricDataResults", "member"]) {
                guard let id = result.text("Id") else { continue }
                let times = result.elements(path: ["Timestamps", "member"]).compactMap {
                    Self.parseTimestamp($0.stringValue)
                }
                let values = result.elements(path: ["Values", "member"]).compactMap {
                    Double($0.stringValue)
                }
                guard times.count == values.count else {
                    throw AWSError.malformedResponse(
                        "GetMetricData: \(times.count) timestamps for \(values.count) values")
                }
                collected[id, default: []] += zip(times, values).map { (timestamp: $0, value: $1) }
            }
            let next = root.elements(path: ["GetMetricDataResult", "NextToken"]).first?.stringValue
            token = (next?.isEmpty ?? true) ? nil : next
        } while token != nil
        return queries.map { query in
            MetricSeries(id: query.id, points: (collected[query.id] ?? []).sorted { $0.timestamp < $1.timestamp })
        }
    }
}
