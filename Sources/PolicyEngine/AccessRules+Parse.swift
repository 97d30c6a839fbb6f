import AWSSigning
import Foundation
import KubeCore

extension AccessRules {
    /// A rules file the controller cannot use: the file, where in it, and what is wrong.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var problem: String
        public init(path: String, problem: String) {
            self.path = path
            self.problem = problem
        }
        public var description: String { "\(path): \(problem)" }
    }

    /// At most this many bytes, namespaces, and entries in one list: an operator's file, but read as input.
    public static let maxFileBytes = 1 << 20
    public static let maxEntries = 10_000

    /// Reads a rules file (YAML or JSON). Unknown keys are errors: a misspelt rule must not silently allow
    /// less, or more, than the operator meant.
    public static func parse(_ data: Data, path: String) throws(ParseError) -> AccessRules {
        func fail(_ problem: String) -> ParseError { ParseError(path: path, problem: problem) }
        guard data.count <= maxFileBytes else { throw fail("larger than \(maxFileBytes) bytes") }
        let root: JSONValue
        do { root = try YAML.parse(String(decoding: data, as: UTF8.self), maxDepth: 16) } catch {
            throw fail("not YAML or JSON: \(error)")
        }
        if root == .null { return .closed }
        guard case .object(let top) = root else { throw fail("expected a mapping with namespaces and artefactStore") }
        try checkKeys(top, ["namespaces", "artefactStore"], at: "", fail)
        var store: ArtefactLocation?
        if let text = top["artefactStore"] {
            guard let text = text.stringValue else { throw fail("artefactStore: expected a URL") }
            do { store = try ArtefactLocation(parsing: text) } catch { throw fail("artefactStore: \(error)") }
        }
        var namespaces: [String: NamespaceRule] = [:]
        if let entries = top["namespaces"], entries != .null {
            guard case .object(let map) = entries, map.count <= maxEntries else {
                throw fail("namespaces: expected a mapping of namespace names (at most \(maxEntries))")
            }
            for (namespace, value) in map {
                guard namespace == "*" || ObjectNames.isDNSLabel(namespace) else {
                    throw fail("namespaces: '\(namespace.prefix(80))' is not a namespace name (or *)")
                }
                namespaces[namespace] = try parseNamespace(value, at: "namespaces.\(namespace)", fail)
            }
        }
        return AccessRules(namespaces: namespaces, artefactStore: store)
    }

    private static func parseNamespace(_ value: JSONValue, at path: String, _ fail: (String) -> ParseError)
        throws(ParseError) -> NamespaceRule
    {
        var rule = NamespaceRule()
        if value == .null { return rule }
        guard case .object(let map) = value else { throw fail("\(path): expected a mapping") }
        try checkKeys(
            map, ["autoScalingGroups", "requireGroupTag", "cloudWatchMetrics", "prometheus", "artefacts"], at: path,
            fail)
        for (index, entry) in try list(map["autoScalingGroups"], at: "\(path).autoScalingGroups", fail).enumerated() {
            let at = "\(path).autoScalingGroups[\(index)]"
            guard case .object(let group) = entry else { throw fail("\(at): expected {region, names}") }
            try checkKeys(group, ["region", "names"], at: at, fail)
            guard let region = group["region"]?.stringValue, AWSNames.isRegion(region) else {
                throw fail("\(at).region: expected an AWS region such as us-east-2")
            }
            let names = try patterns(group["names"], at: "\(at).names", fail)
            guard !names.isEmpty else { throw fail("\(at).names: name at least one group (or a prefix*)") }
            rule.autoScalingGroups.append(GroupRule(region: region, names: names))
        }
        if let tag = map["requireGroupTag"] {
            guard case .bool(let flag) = tag else { throw fail("\(path).requireGroupTag: expected true or false") }
            rule.requireGroupTag = flag
        }
        for (index, entry) in try list(map["cloudWatchMetrics"], at: "\(path).cloudWatchMetrics", fail).enumerated() {
            let at = "\(path).cloudWatchMetrics[\(index)]"
            guard case .object(let metric) = entry else {
                throw fail("\(at): expected {namespace, metricName, dimensions}")
            }
            try checkKeys(metric, ["namespace", "metricName", "dimensions"], at: at, fail)
            guard let namespace = metric["namespace"]?.stringValue, !namespace.isEmpty, namespace.utf8.count <= 255,
                let name = metric["metricName"]?.stringValue, !name.isEmpty, name.utf8.count <= 255
            else { throw fail("\(at): namespace and metricName are required (≤ 255 bytes)") }
            var dimensions: [String: NamePattern] = [:]
            if let value = metric["dimensions"], value != .null {
                guard case .object(let pairs) = value, pairs.count <= 30 else {
                    throw fail("\(at).dimensions: expected a mapping of at most 30 dimensions")
                }
                for (key, pattern) in pairs {
                    guard let text = pattern.stringValue, !text.isEmpty, text.utf8.count <= 1024 else {
                        throw fail("\(at).dimensions.\(key): expected a value or a prefix*")
                    }
                    dimensions[key] = NamePattern(text)
                }
            }
            rule.cloudWatchMetrics.append(
                MetricRule(namespace: namespace, metricName: NamePattern(name), dimensions: dimensions))
        }
        for (index, entry) in try list(map["prometheus"], at: "\(path).prometheus", fail).enumerated() {
            rule.prometheus.append(try prometheusServer(entry, at: "\(path).prometheus[\(index)]", fail))
        }
        for (index, entry) in try list(map["artefacts"], at: "\(path).artefacts", fail).enumerated() {
            guard let text = entry.stringValue else { throw fail("\(path).artefacts[\(index)]: expected a URL") }
            do { rule.artefacts.append(try ArtefactLocation(parsing: text)) } catch {
                throw fail("\(path).artefacts[\(index)]: \(error)")
            }
        }
        return rule
    }

    private static func prometheusServer(_ entry: JSONValue, at path: String, _ fail: (String) -> ParseError)
        throws(ParseError) -> PrometheusServer
    {
        if entry.stringValue == "default" { return .controllerDefault }
        guard case .object(let server) = entry else {
            throw fail("\(path): expected 'default' or {url, headers}")
        }
        try checkKeys(server, ["url", "headers"], at: path, fail)
        guard let text = server["url"]?.stringValue else { throw fail("\(path).url: expected an http(s) URL") }
        let url: EndpointURL
        do { url = try EndpointURL(parsing: text) } catch { throw fail("\(path).url: \(error)") }
        var headers: [HeaderField] = []
        if let value = server["headers"], value != .null {
            guard case .object(let pairs) = value, pairs.count <= 16 else {
                throw fail("\(path).headers: expected a mapping of at most 16 header fields")
            }
            for (name, value) in pairs.sorted(by: { $0.key < $1.key }) {
                guard isToken(name), let text = value.stringValue, text.utf8.count <= 4096,
                    !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
                else { throw fail("\(path).headers.\(name.prefix(80)): a header field name and a one-line value") }
                headers.append(HeaderField(name: name, value: text))
            }
        }
        return .address(url, headers: headers)
    }

    private static func list(_ value: JSONValue?, at path: String, _ fail: (String) -> ParseError)
        throws(ParseError) -> [JSONValue]
    {
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value, items.count <= maxEntries else {
            throw fail("\(path): expected a list (at most \(maxEntries) entries)")
        }
        return items
    }

    private static func patterns(_ value: JSONValue?, at path: String, _ fail: (String) -> ParseError)
        throws(ParseError) -> [NamePattern]
    {
        try list(value, at: path, fail).map { (item) throws(ParseError) -> NamePattern in
            guard let text = item.stringValue, !text.isEmpty, text.utf8.count <= 255 else {
                throw fail("\(path): expected names (≤ 255 bytes) or prefixes ending in *")
            }
            return NamePattern(text)
        }
    }

    private static func checkKeys(
        _ map: [String: JSONValue], _ known: Set<String>, at path: String, _ fail: (String) -> ParseError
    ) throws(ParseError) {
        if let unknown = map.keys.sorted().first(where: { !known.contains($0) }) {
            let place = path.isEmpty ? "" : "\(path)."
            throw fail("\(place)\(unknown.prefix(80)): unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    /// RFC 9110 token: what a header field name is.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 256
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "!#$%&'*+-.^_`|~".contains($0)) }
    }
}
