import AWSSigning
import Foundation
import KubeCore
import PolicyEngine
import Testing

@testable import Cloud

/// The operator's rules against a tenant's spec, and the grammars that keep a tenant's string out of host
/// names: each attack of the tenant-isolation review as a case.
@Suite struct AccessRulesTests {
    static let rulesText = """
        artefactStore: s3://forescale-models/policies/
        namespaces:
          tenant-a:
            autoScalingGroups:
              - {region: us-east-2, names: ["tenant-a-*", exact-group]}
            cloudWatchMetrics:
              - {namespace: AWS/ApplicationELB, metricName: RequestCountPerTarget, dimensions: {TargetGroup: "targetgroup/tenant-a-*"}}
            prometheus:
              - default
              - {url: "http://prom-a.monitoring:9090", headers: {X-Scope-OrgID: tenant-a}}
            artefacts: ["file:///models/"]
          "*":
            artefacts: ["s3://shared-models/public/"]
        """

    static func rules() throws -> AccessRules {
        try AccessRules.parse(Data(rulesText.utf8), path: "rules.yaml")
    }

    static func spec(_ json: JSONValue) throws -> PolicySpec {
        try PolicySpec.parse(json).get()
    }

    static func group(_ name: String, region: String = "us-east-2", extra: [String: JSONValue] = [:]) throws
        -> PolicySpec
    {
        var spec: [String: JSONValue] = [
            "target": ["kind": "AutoScalingGroup", "name": .string(name), "region": .string(region)],
            "mode": "Reactive",
        ]
        for (key, value) in extra { spec[key] = value }
        return try Self.spec(.object(spec))
    }

    @Test func aNamespaceScalesOnlyTheGroupsItsRulesName() throws {
        let rules = try Self.rules()
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: try Self.group("tenant-a-web")) == nil)
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: try Self.group("exact-group")) == nil)
        let other = try #require(
            rules.denial(namespace: "tenant-a", name: "p", spec: try Self.group("tenant-b-payments")))
        #expect(other.rule == "autoScalingGroups")
        #expect(other.message.contains("namespaces.tenant-a.autoScalingGroups"), "the message names the rule to add")
        #expect(other.message.contains("forescale.io/namespace=tenant-a"))
        #expect(
            rules.denial(namespace: "tenant-a", name: "p", spec: try Self.group("tenant-a-web", region: "eu-west-1"))
                != nil)
        #expect(rules.denial(namespace: "tenant-b", name: "p", spec: try Self.group("tenant-a-web")) != nil)
        // Closed by default: no rules, no group.
        #expect(
            AccessRules.closed.denial(namespace: "tenant-a", name: "p", spec: try Self.group("tenant-a-web")) != nil)
        #expect(rules.requiresGroupTag(namespace: "tenant-a"))
    }

    @Test func aNamespaceReadsOnlyItsGroupsMetricsAndTheMetricsItsRulesName() throws {
        let rules = try Self.rules()
        let own = try Self.group(
            "tenant-a-web",
            extra: [
                "metrics": [
                    "cloudwatch": [
                        "metricName": "CPUUtilization", "dimensions": ["AutoScalingGroupName": "tenant-a-web"],
                    ]
                ]
            ])
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: own) == nil)
        let foreign = try Self.group(
            "tenant-a-web",
            extra: [
                "metrics": [
                    "cloudwatch": [
                        "metricName": "CPUUtilization", "dimensions": ["AutoScalingGroupName": "tenant-b-payments"],
                    ]
                ]
            ])
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: foreign)?.rule == "cloudWatchMetrics")
        let instance = try Self.group(
            "tenant-a-web",
            extra: [
                "metrics": [
                    "inputs": [
                        [
                            "name": "db",
                            "cloudwatch": [
                                "namespace": "AWS/RDS", "metricName": "CPUUtilization",
                                "dimensions": ["DBInstanceIdentifier": "payments"],
                            ],
                        ]
                    ]
                ]
            ])
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: instance)?.rule == "cloudWatchMetrics")
        let alb = try Self.group(
            "tenant-a-web",
            extra: [
                "metrics": [
                    "inputs": [
                        [
                            "name": "rps",
                            "cloudwatch": [
                                "predefined": "ALBRequestCountPerTarget",
                                "resourceLabel": "app/lb/1/targetgroup/tenant-a-tg/2",
                            ],
                        ]
                    ]
                ]
            ])
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: alb) == nil)
        let otherALB = try Self.group(
            "tenant-a-web",
            extra: [
                "metrics": [
                    "inputs": [
                        [
                            "name": "rps",
                            "cloudwatch": [
                                "predefined": "ALBRequestCountPerTarget",
                                "resourceLabel": "app/lb/1/targetgroup/tenant-b-tg/2",
                            ],
                        ]
                    ]
                ]
            ])
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: otherALB)?.rule == "cloudWatchMetrics")
    }

    static func prometheusSpec(address: String?) throws -> PolicySpec {
        var prometheus: [String: JSONValue] = ["query": "up"]
        if let address { prometheus["address"] = .string(address) }
        return try Self.spec([
            "target": ["kind": "Deployment", "name": "web"], "mode": "Reactive",
            "metrics": ["source": "prometheus", "prometheus": .object(prometheus)],
        ])
    }

    /// Servers are compared by scheme, host and port: a prefix match let `http://allowed:9090@evil/` through.
    @Test(arguments: [
        ("http://prom-a.monitoring:9090", true), ("http://PROM-A.monitoring:9090/", true),
        ("http://prom-a.monitoring:9090@evil.example/", false), ("http://prom-a.monitoring:9090.evil.example", false),
        ("http://prom-a.monitoring:9091", false), ("https://prom-a.monitoring:9090", false),
        ("http://prom-a.monitoring", false), ("http://prom-a.monitoring:9090/api/../x", false),
        ("http://prom-a.monitoring:9090?x=1", false), ("http://evil.example/", false),
    ])
    func prometheusAddressesAreServersNotPrefixes(address: String, allowed: Bool) throws {
        let rules = try Self.rules()
        let denial = rules.denial(namespace: "tenant-a", name: "p", spec: try Self.prometheusSpec(address: address))
        #expect((denial == nil) == allowed, "\(address): \(denial?.message ?? "allowed")")
    }

    @Test func theControllersPrometheusIsANamespacesOnlyByRule() throws {
        let rules = try Self.rules()
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: try Self.prometheusSpec(address: nil)) == nil)
        let denied = try #require(
            rules.denial(namespace: "tenant-b", name: "p", spec: try Self.prometheusSpec(address: nil)))
        #expect(denied.message.contains("'default' to namespaces.tenant-b.prometheus"))
        guard
            case .success(.address(_, let headers)) = rules.prometheusServer(
                namespace: "tenant-a", address: "http://prom-a.monitoring:9090")
        else {
            Issue.record("the tenant's server is allowed with its headers")
            return
        }
        #expect(headers == [AccessRules.HeaderField(name: "X-Scope-OrgID", value: "tenant-a")])
    }

    static func modelSpec(_ artefact: String?) throws -> PolicySpec {
        var spec: [String: JSONValue] = [
            "target": ["kind": "Simulated", "name": "web", "simulation": ["trace": "seed"]], "mode": "Predictive",
        ]
        if let artefact { spec["model"] = ["artefact": .string(artefact)] }
        return try Self.spec(.object(spec))
    }

    @Test(arguments: [
        ("s3://forescale-models/policies/tenant-a/p/model.fsm", true),
        ("s3://forescale-models/policies/tenant-a/other/model.fsm", true),
        ("s3://forescale-models/policies/tenant-b/p/model.fsm", false),
        ("s3://forescale-models/policies/tenant-a/../tenant-b/p/model.fsm", false),
        ("s3://shared-models/public/seed.fsm", true), ("s3://shared-models/private/seed.fsm", false),
        ("file:///models/seed-load.fsm", true), ("file:///models/../etc/passwd", false),
        ("file:///modelsx/seed.fsm", false), ("file:///models//seed-load.fsm", false),
        ("s3://attacker.example#/x", false), ("s3://attacker.example:443/x", false), ("http://x/y", false),
    ])
    func artefactsAreReadOnlyFromAllowedLocations(url: String, allowed: Bool) throws {
        let rules = try Self.rules()
        // A URL the spec's own checks refuse never reaches the rules: refused all the same.
        guard let spec = try? Self.modelSpec(url) else {
            #expect(!allowed, "\(url): refused by the spec's checks")
            return
        }
        let denial = rules.denial(namespace: "tenant-a", name: "p", spec: spec)
        #expect((denial == nil) == allowed, "\(url): \(denial?.message ?? "allowed")")
    }

    @Test func anUnsetArtefactIsThePolicysPlaceInTheStore() throws {
        let rules = try Self.rules()
        let spec = try Self.modelSpec(nil)
        #expect(
            rules.artefact(namespace: "tenant-a", name: "p", spec: spec)
                == "s3://forescale-models/policies/tenant-a/p/model.fsm")
        #expect(rules.denial(namespace: "tenant-a", name: "p", spec: spec) == nil)
        #expect(AccessRules.closed.artefact(namespace: "tenant-a", name: "p", spec: spec) == nil)
    }

    /// S3's bucket naming rules: the bucket is the first label of the host a request goes to.
    @Test(arguments: [
        ("models", true), ("shop-forescale-models", true), ("a.b.c", true), ("abc", true),
        ("ab", false), (String(repeating: "a", count: 64), false), ("Models", false), ("attacker.example#", false),
        ("attacker.example:443", false), ("a..b", false), ("a.-b", false), ("-ab", false), ("ab-", false),
        ("192.168.1.1", false), ("xn--abc", false), ("abc-s3alias", false), ("a_b", false), ("a/b", false),
        ("evil.com/x?", false), ("", false),
    ])
    func bucketNames(name: String, valid: Bool) {
        #expect(AWSNames.isBucketName(name) == valid, "\(name)")
    }

    @Test(arguments: [
        ("us-east-2", true), ("eu-central-1", true), ("us-gov-west-1", true), ("cn-north-1", true),
        ("us-iso-east-1", true), ("ap-southeast-10", true), ("x.attacker.example", false), ("us-east-2.evil", false),
        ("US-EAST-2", false), ("us-east", false), ("useast1", false), ("us-east-123", false), ("", false),
        ("us-east-2/", false), ("us-east-2#", false),
    ])
    func regions(name: String, valid: Bool) {
        #expect(AWSNames.isRegion(name) == valid, "\(name)")
    }

    @Test func endpointURLsAreParsedNotPrefixed() throws {
        let plain = try EndpointURL(parsing: "http://Prom.Monitoring:9090/")
        #expect(plain.description == "http://prom.monitoring:9090")
        #expect(try EndpointURL(parsing: "https://x").port == 443)
        #expect(try EndpointURL(parsing: "http://[::1]:9090").host == "[::1]")
        for bad in [
            "http://a:9090@evil/", "ftp://x", "http://", "http://a b", "http://a:0", "http://a:70000", "http://a/?q",
            "http://a/#f", "http://a\\@b/", "http://a%2e/",
        ] {
            #expect(throws: EndpointURL.ParseError.self, "\(bad)") { try EndpointURL(parsing: bad) }
        }
    }

    @Test func rulesFilesAreCheckedLikeInput() {
        for (text, problem) in [
            ("namespaces: {Tenant_A: {}}", "not a namespace name"),
            ("namespaces: {a: {autoScalingGroup: []}}", "unknown key"),
            ("namespaces: {a: {autoScalingGroups: [{region: x.evil, names: [g]}]}}", "AWS region"),
            ("namespaces: {a: {prometheus: [{url: 'http://a:1@b/'}]}}", "user information"),
            ("namespaces: {a: {artefacts: ['s3://Bad_Bucket/x/']}}", "bucket"),
            ("artefactStore: s3://attacker.example#/", "bucket"),
            ("namespaces: [a]", "mapping"),
        ] {
            #expect(throws: AccessRules.ParseError.self, "\(text)") {
                do { _ = try AccessRules.parse(Data(text.utf8), path: "rules.yaml") } catch let error
                    as AccessRules.ParseError
                {
                    #expect(error.description.contains(problem), "\(text): \(error)")
                    #expect(error.description.hasPrefix("rules.yaml: "))
                    throw error
                }
            }
        }
        #expect((try? AccessRules.parse(Data(), path: "empty")) == .closed)
    }

    /// Prometheus quotes the series a query is about; another tenant's labels must not reach status.
    @Test func prometheusMessagesLoseTheirLabelSets() {
        let message = """
            execution: found duplicate series for the match group {instance="db-7", tenant="b"} on the right hand-side \
            of the operation: [{__name__="x", tenant="b", secret="yes"}, {__name__="x", tenant="b"}]
            """
        let cleaned = PrometheusAPI.withoutLabelSets(message)
        #expect(!cleaned.contains("tenant"))
        #expect(!cleaned.contains("secret"))
        #expect(cleaned.contains("found duplicate series for the match group {…}"))
    }
}
