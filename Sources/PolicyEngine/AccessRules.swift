import AWSSigning
import Foundation
import KubeCore

/// The operator's word on what each namespace's policies may name: Auto Scaling groups (by region and
/// name), CloudWatch metrics beyond a group's own, Prometheus servers, and artefact locations. A policy is
/// its tenant's word; the controller's AWS role, S3 access, Prometheus credentials and memory are the
/// operator's. Nothing is allowed unless a rule names the namespace (or `"*"`, every namespace); a
/// Deployment in the policy's own namespace and a simulated target need no rule.
///
/// The file (YAML or JSON, `--access-rules`):
///
/// ```yaml
/// artefactStore: s3://forescale-models/policies/   # where the trainer keeps champions: <store><ns>/<name>/model.fsm
/// namespaces:
///   shop:
///     autoScalingGroups:
///       - {region: us-east-2, names: ["shop-*"]}    # exact names, or a prefix ending in *
///     requireGroupTag: true                         # default: the group carries forescale.io/namespace=shop
///     cloudWatchMetrics:                            # beyond the group's own (AutoScalingGroupName=<group>)
///       - {namespace: AWS/ApplicationELB, metricName: RequestCountPerTarget, dimensions: {TargetGroup: "targetgroup/shop-*"}}
///     prometheus:
///       - default                                   # the controller's --prometheus-url, with its credentials
///       - {url: "http://prom-label-proxy.shop.svc:8080", headers: {X-Scope-OrgID: shop}}
///     artefacts: ["s3://forescale-models/shared/", "file:///models/"]   # read-only locations
/// ```
public struct AccessRules: Sendable, Equatable {
    /// An exact name, or a prefix when the pattern ends with `*`.
    public struct NamePattern: Sendable, Hashable, CustomStringConvertible {
        public let text: String
        public init(_ text: String) { self.text = text }
        public func matches(_ name: String) -> Bool {
            text.hasSuffix("*") ? name.hasPrefix(text.dropLast()) : name == text
        }
        public var description: String { text }
    }

    public struct GroupRule: Sendable, Hashable {
        public var region: String
        public var names: [NamePattern]
        public init(region: String, names: [NamePattern]) {
            self.region = region
            self.names = names
        }
    }

    public struct MetricRule: Sendable, Hashable {
        public var namespace: String
        public var metricName: NamePattern
        public var dimensions: [String: NamePattern]

        func allows(namespace: String, metricName: String, dimensions: [String: String]) -> Bool {
            namespace == self.namespace && self.metricName.matches(metricName)
                && Set(dimensions.keys) == Set(self.dimensions.keys)
                && dimensions.allSatisfy { self.dimensions[$0.key]?.matches($0.value) == true }
        }
    }

    public enum PrometheusServer: Sendable, Hashable {
        /// The controller's `--prometheus-url`, with its credentials and headers.
        case controllerDefault
        /// Another server, with the header fields (a tenant id for Mimir, Thanos or Cortex) that go only to it.
        case address(EndpointURL, headers: [HeaderField])
    }

    public struct HeaderField: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct NamespaceRule: Sendable, Equatable {
        public var autoScalingGroups: [GroupRule] = []
        public var requireGroupTag = true
        public var cloudWatchMetrics: [MetricRule] = []
        public var prometheus: [PrometheusServer] = []
        public var artefacts: [ArtefactLocation] = []
        public init() {}
    }

    /// The tag an Auto Scaling group carries to say which namespace may scale it.
    public static let namespaceTag = "forescale.io/namespace"

    public var namespaces: [String: NamespaceRule]
    /// Where the trainer writes each policy's champion (`<store><namespace>/<name>/model.fsm`); a policy may
    /// read its own namespace's part of it without a rule.
    public var artefactStore: ArtefactLocation?

    /// Nothing allowed: what a controller without a rules file enforces.
    public static let closed = AccessRules(namespaces: [:], artefactStore: nil)

    public init(namespaces: [String: NamespaceRule], artefactStore: ArtefactLocation?) {
        self.namespaces = namespaces
        self.artefactStore = artefactStore
    }

    /// The rules for one namespace: its own entry and the `"*"` entry together.
    public func rule(for namespace: String) -> NamespaceRule {
        let own = namespaces[namespace] ?? NamespaceRule()
        guard namespace != "*", let every = namespaces["*"] else { return own }
        var merged = own
        merged.autoScalingGroups += every.autoScalingGroups
        merged.requireGroupTag = own.requireGroupTag && every.requireGroupTag
        merged.cloudWatchMetrics += every.cloudWatchMetrics
        merged.prometheus += every.prometheus
        merged.artefacts += every.artefacts
        return merged
    }

    /// Whether the namespace's policies must find the namespace tag on their group.
    public func requiresGroupTag(namespace: String) -> Bool {
        rule(for: namespace).requireGroupTag
    }

    /// The artefact a policy reads: its `spec.model.artefact`, or its derived place in the store.
    public func artefact(namespace: String, name: String, spec: PolicySpec) -> String? {
        spec.modelArtefact ?? artefactStore?.artefact(namespace: namespace, name: name).description
    }

    /// The Prometheus server a policy's queries go to, once allowed.
    public func prometheusServer(namespace: String, address: String?) -> Result<PrometheusServer, AccessDenied> {
        let rule = rule(for: namespace)
        guard let address else {
            return rule.prometheus.contains(.controllerDefault)
                ? .success(.controllerDefault)
                : .failure(
                    AccessDenied(
                        rule: "prometheus",
                        message:
                            "namespace \(namespace) may not query the controller's Prometheus server: an operator adds "
                            + "'default' to namespaces.\(namespace).prometheus in the access rules"))
        }
        let parsed: EndpointURL
        do { parsed = try EndpointURL(parsing: address) } catch {
            return .failure(AccessDenied(rule: "prometheus", message: "spec.metrics.prometheus.address: \(error)"))
        }
        for server in rule.prometheus {
            if case .address(let allowed, _) = server, allowed == parsed { return .success(server) }
        }
        return .failure(
            AccessDenied(
                rule: "prometheus",
                message:
                    "namespace \(namespace) may not query Prometheus at \(parsed): an operator adds "
                    + "{url: \(parsed)} to namespaces.\(namespace).prometheus in the access rules"))
    }

    /// Why a policy may not run as written, or nil when every outside thing it names is allowed. Pure: no
    /// call is made before this says yes.
    public func denial(namespace: String, name: String, spec: PolicySpec) -> AccessDenied? {
        let rule = rule(for: namespace)
        if spec.targetKind == .autoScalingGroup, let denied = groupDenial(namespace, rule, spec) { return denied }
        if let denied = metricsDenial(namespace, rule, spec) { return denied }
        if spec.mode.usesModel, let denied = artefactDenial(namespace, name: name, rule, spec) { return denied }
        return nil
    }

    private func groupDenial(_ namespace: String, _ rule: NamespaceRule, _ spec: PolicySpec) -> AccessDenied? {
        guard let region = spec.region, AWSNames.isRegion(region) else {
            return AccessDenied(
                rule: "autoScalingGroups",
                message: "spec.target.region '\((spec.region ?? "").prefix(40))' is not an AWS region (e.g. us-east-2)")
        }
        let allowed = rule.autoScalingGroups.contains {
            $0.region == region && $0.names.contains { $0.matches(spec.targetName) }
        }
        guard allowed else {
            return AccessDenied(
                rule: "autoScalingGroups",
                message:
                    "namespace \(namespace) may not scale Auto Scaling group \(spec.targetName) in \(region): an operator "
                    + "adds {region: \(region), names: [\(spec.targetName)]} to namespaces.\(namespace).autoScalingGroups "
                    + "in the access rules"
                    + (rule.requireGroupTag ? " and tags the group \(Self.namespaceTag)=\(namespace)" : ""))
        }
        return nil
    }

    private func metricsDenial(_ namespace: String, _ rule: NamespaceRule, _ spec: PolicySpec) -> AccessDenied? {
        var cloudWatch: [(namespace: String, name: String, dimensions: [String: String])] = []
        var prometheus = false
        switch spec.metricsSource {
        case .cloudwatch:
            cloudWatch.append((spec.cloudWatch.namespace, spec.cloudWatch.metricName, spec.cloudWatch.dimensions))
        case .prometheus: prometheus = true
        case .simulated: break
        }
        for input in spec.inputs {
            if input.query != nil, spec.metricsSource == .prometheus || spec.prometheus != nil { prometheus = true }
            if let metric = input.cloudWatch {
                if let predefined = metric.predefined {
                    if predefined == .albRequestCountPerTarget {
                        cloudWatch.append(
                            (
                                "AWS/ApplicationELB", "RequestCountPerTarget",
                                ["TargetGroup": Self.targetGroup(fromResourceLabel: metric.resourceLabel ?? "")]
                            ))
                    }
                } else {
                    cloudWatch.append((metric.namespace ?? "", metric.metricName ?? "", metric.dimensions))
                }
            }
        }
        if prometheus,
            case .failure(let denied) = prometheusServer(namespace: namespace, address: spec.prometheus?.address)
        {
            return denied
        }
        for metric in cloudWatch {
            // The group's own metrics come with the group: no rule beyond the group's.
            if metric.dimensions.isEmpty || metric.dimensions == ["AutoScalingGroupName": spec.targetName] { continue }
            if rule.cloudWatchMetrics.contains(where: {
                $0.allows(namespace: metric.namespace, metricName: metric.name, dimensions: metric.dimensions)
            }) {
                continue
            }
            let dimensions = metric.dimensions.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                .joined(separator: ", ")
            return AccessDenied(
                rule: "cloudWatchMetrics",
                message:
                    "namespace \(namespace) may not read CloudWatch \(metric.namespace) \(metric.name) {\(dimensions)}: an "
                    + "operator adds {namespace: \(metric.namespace), metricName: \(metric.name), dimensions: "
                    + "{\(dimensions)}} to namespaces.\(namespace).cloudWatchMetrics in the access rules")
        }
        return nil
    }

    private func artefactDenial(_ namespace: String, name: String, _ rule: NamespaceRule, _ spec: PolicySpec)
        -> AccessDenied?
    {
        guard let text = artefact(namespace: namespace, name: name, spec: spec) else { return nil }
        let url: ArtefactURL
        do { url = try ArtefactURL(parsing: text) } catch {
            return AccessDenied(rule: "artefacts", message: "spec.model.artefact: \(error)")
        }
        if let store = artefactStore, store.area(namespace: namespace).contains(url) { return nil }
        if rule.artefacts.contains(where: { $0.contains(url) }) { return nil }
        return AccessDenied(
            rule: "artefacts",
            message:
                "namespace \(namespace) may not read the model at \(url): an operator adds its location to "
                + "namespaces.\(namespace).artefacts in the access rules"
                + (artefactStore.map {
                    ", or the policy leaves spec.model.artefact unset to use \($0.area(namespace: namespace))"
                }
                    ?? ""))
    }

    /// `app/…/targetgroup/name/id` (an ALB resource label) → `targetgroup/name/id`, CloudWatch's TargetGroup dimension.
    public static func targetGroup(fromResourceLabel label: String) -> String {
        guard let range = label.range(of: "targetgroup/") else { return label }
        return String(label[range.lowerBound...])
    }
}

/// A policy names something its namespace's rules do not allow. `rule` is the rules file's section to add to.
public struct AccessDenied: Error, Sendable, Equatable, CustomStringConvertible {
    public var rule: String
    public var message: String
    public init(rule: String, message: String) {
        self.rule = rule
        self.message = message
    }
    public var description: String { message }
}

extension AccessRules {
    /// Rules that let `namespaces` read models from `locations` and nothing else: what the demo, the benches
    /// and tests that load local models give their controller.
    public static func readingModels(from locations: [String], in namespaces: [String] = ["*"]) throws(ArtefactURL
        .ParseError) -> AccessRules
    {
        var rule = NamespaceRule()
        for location in locations { rule.artefacts.append(try ArtefactLocation(parsing: location)) }
        return AccessRules(
            namespaces: Dictionary(uniqueKeysWithValues: namespaces.map { ($0, rule) }), artefactStore: nil)
    }
}
