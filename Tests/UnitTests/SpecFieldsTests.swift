import Foundation
import KubeCore
import PolicyEngine
import TestSupport
import Testing

/// The CRD and `SpecFields` say the same thing about every scalar field of spec: its type,
/// range and default. A field added to one and not the other fails here.
@Suite struct SpecFieldsTests {
    static let schema: JSONValue = Fixtures.scalingPolicySchema.value(at: ["properties", "spec"]) ?? .null

    static func property(_ path: [String]) -> JSONValue? {
        var node: JSONValue? = schema
        for key in path { node = node?.value(at: ["properties", key]) }
        return node
    }

    @Test(arguments: SpecFields.numbers)
    func numberFieldMatchesTheCRD(_ field: NumberField) throws {
        let property = try #require(Self.property(field.path), "\(field) is not in the CRD")
        #expect(property["type"]?.stringValue == (field.isInteger ? "integer" : "number"), "\(field)")
        if field.isInteger {
            #expect(property["format"] == "int64", "\(field): integers are int64, as kube-apiserver decodes them")
        }
        #expect(property["minimum"]?.doubleValue == field.range.lowerBound, "\(field) minimum")
        #expect(property["maximum"]?.doubleValue == field.range.upperBound, "\(field) maximum")
        #expect(property["default"]?.doubleValue == field.fallback, "\(field) default")
    }

    @Test(arguments: SpecFields.texts)
    func textFieldMatchesTheCRD(_ field: TextField) throws {
        let property = try #require(Self.property(field.path), "\(field) is not in the CRD")
        #expect(property["type"] == "string", "\(field)")
        #expect(
            property["enum"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) } == field.allowed.map(Set.init),
            "\(field) enum")
        #expect(property["default"]?.stringValue == field.fallback, "\(field) default")
        if field.allowed == nil { #expect(property["maxLength"]?.intValue == field.maxLength, "\(field) maxLength") }
    }

    @Test(arguments: SpecFields.flags)
    func flagFieldMatchesTheCRD(_ field: FlagField) throws {
        let property = try #require(Self.property(field.path), "\(field) is not in the CRD")
        #expect(property["type"] == "boolean")
        #expect(property["default"] == .bool(field.fallback), "\(field) default")
    }

    /// Every scalar the CRD declares under spec is read by the parser (no field that does nothing).
    @Test func everyCRDScalarHasARule() {
        var paths: [[String]] = []
        func walk(_ node: JSONValue, _ path: [String]) {
            if let properties = node["properties"]?.objectValue {
                for (key, child) in properties { walk(child, path + [key]) }
            } else if ["integer", "number", "string", "boolean"].contains(node["type"]?.stringValue ?? "") {
                paths.append(path)
            }
        }
        walk(Self.schema, [])
        let known = Set(SpecFields.numbers.map(\.path) + SpecFields.texts.map(\.path) + SpecFields.flags.map(\.path))
        #expect(!paths.isEmpty)
        for path in paths {
            #expect(known.contains(path), "spec.\(path.joined(separator: ".")) has no rule in SpecFields")
        }
    }

    /// Out-of-range, non-integral and non-finite values are problems naming the field, never traps.
    static let hostile: [(override: String, field: String)] = [
        (#"{"maxCapacity": 9223372036854775807}"#, "spec.maxCapacity"),
        (#"{"maxCapacity": 99999999999999999999999}"#, "spec.maxCapacity"),
        (#"{"metrics": {"stepSeconds": 1e300}}"#, "spec.metrics.stepSeconds"),
        (#"{"metrics": {"stepSeconds": 2.5}}"#, "spec.metrics.stepSeconds"),
        (#"{"metrics": {"staleAfterSeconds": 604801}}"#, "spec.metrics.staleAfterSeconds"),
        (#"{"forecast": {"leadTimeSeconds": 1000000000}}"#, "spec.forecast.leadTimeSeconds"),
        (#"{"forecast": {"quantile": 2}}"#, "spec.forecast.quantile"),
        (#"{"forecast": {"horizonSteps": -9223372036854775808}}"#, "spec.forecast.horizonSteps"),
        (#"{"behavior": {"scaleUp": {"maxStep": -1}}}"#, "spec.behavior.scaleUp.maxStep"),
        (#"{"target": {"simulation": {"loadScale": 1e300}}}"#, "spec.target.simulation.loadScale"),
        (#"{"target": {"simulation": {"startOffsetSteps": -0.5}}}"#, "spec.target.simulation.startOffsetSteps"),
        (#"{"target": {"simulation": {"initialCapacity": 1e19}}}"#, "spec.target.simulation.initialCapacity"),
        (#"{"minCapacity": "3"}"#, "spec.minCapacity"),
        (#"{"mode": 3}"#, "spec.mode"),
        (#"{"model": {"maxMAERatio": 0}}"#, "spec.model.maxMAERatio"),
    ]

    @Test(arguments: hostile)
    func hostileNumbersAreProblems(_ override: String, _ field: String) throws {
        let base: JSONValue = ["target": ["kind": "Simulated", "name": "web", "simulation": [:]]]
        let spec = applyMergePatch(try JSONValue(parsing: Data(override.utf8)), to: base)
        guard case .failure(let invalid) = PolicySpec.parse(spec) else {
            Issue.record("accepted \(spec)")
            return
        }
        #expect(invalid.description.contains(field), "\(invalid)")
    }
}

/// `spec.metrics.prometheus` and `spec.metrics.inputs`: each mistake named.
@Suite struct MetricsSpecTests {
    static let prometheus: JSONValue = [
        "target": ["kind": "Deployment", "name": "web"],
        "metrics": ["source": "prometheus", "prometheus": ["query": "up"]],
    ]

    @Test(arguments: [
        (#"{"metrics": {"prometheus": {"query": null}}}"#, "spec.metrics.prometheus.query: required"),
        (#"{"metrics": {"prometheus": {"address": "ftp://x"}}}"#, "spec.metrics.prometheus.address"),
        (#"{"metrics": {"prometheus": {"capacityPerReplica": 0}}}"#, "capacityPerReplica"),
        (#"{"metrics": {"prometheus": {"aggregate": "median"}}}"#, "spec.metrics.prometheus.aggregate"),
        (#"{"metrics": {"inputs": [{"name": "Load", "query": "x"}]}}"#, "spec.metrics.inputs[0].name"),
        (#"{"metrics": {"inputs": [{"name": "hour", "query": "x"}]}}"#, "spec.metrics.inputs[0].name"),
        (#"{"metrics": {"inputs": [{"name": "cpu_rolling_mean", "query": "x"}]}}"#, "spec.metrics.inputs[0].name"),
        (#"{"metrics": {"inputs": [{"name": "a b", "query": "x"}]}}"#, "spec.metrics.inputs[0].name"),
        (#"{"metrics": {"inputs": [{"name": "a", "query": "x"}, {"name": "a", "query": "y"}]}}"#, "appears twice"),
        (#"{"metrics": {"inputs": [{"name": "a"}]}}"#, "spec.metrics.inputs[0].query: required"),
        (#"{"metrics": {"inputs": [{"name": "a", "query": ""}]}}"#, "spec.metrics.inputs[0].query"),
        (#"{"metrics": {"inputs": "x"}}"#, "spec.metrics.inputs"),
    ])
    func prometheusMistakes(_ override: String, _ field: String) throws {
        try Self.expectProblem(Self.prometheus, override, field)
    }

    @Test func seventeenInputsAreTooMany() throws {
        let inputs = (0..<17).map { #"{"name": "i\#($0)", "query": "x"}"# }.joined(separator: ",")
        try Self.expectProblem(Self.prometheus, #"{"metrics": {"inputs": [\#(inputs)]}}"#, "at most 16")
    }

    @Test(arguments: [
        (#"{"metrics": {"inputs": [{"name": "n", "cloudwatch": {"predefined": "Everything"}}]}}"#, "predefined"),
        (
            #"{"metrics": {"inputs": [{"name": "n", "cloudwatch": {"predefined": "ALBRequestCountPerTarget"}}]}}"#,
            "resourceLabel"
        ),
        (
            #"{"metrics": {"inputs": [{"name": "n", "cloudwatch": {"statistic": "Sum"}}]}}"#,
            "give predefined, or namespace and metricName"
        ),
        (
            #"{"metrics": {"inputs": [{"name": "n", "cloudwatch": {"predefined": "ASGAverageNetworkIn", "statistic": "Median"}}]}}"#,
            "statistic"
        ),
        (#"{"metrics": {"inputs": [{"name": "n", "query": "x"}]}}"#, "spec.metrics.inputs[0].cloudwatch: required"),
    ])
    func cloudWatchMistakes(_ override: String, _ field: String) throws {
        let asg: JSONValue = ["target": ["kind": "AutoScalingGroup", "name": "g", "region": "us-east-1"]]
        try Self.expectProblem(asg, override, field)
    }

    @Test func aDimensionValueLongerThanCloudWatchAllowsIsRefused() throws {
        let asg: JSONValue = ["target": ["kind": "AutoScalingGroup", "name": "g", "region": "us-east-1"]]
        let long = String(repeating: "é", count: 1025)
        try Self.expectProblem(
            asg, #"{"metrics": {"cloudwatch": {"dimensions": {"d": "\#(long)"}}}}"#, "1024 characters")
        try Self.expectProblem(
            asg,
            #"{"metrics": {"inputs": [{"name": "n", "cloudwatch": {"namespace": "N", "metricName": "M", "dimensions": {"d": "\#(long)"}}}]}}"#,
            "1024 characters")
        // 1,024 characters (2,048 bytes) are allowed: the bound counts characters, as the schema's maxLength does.
        let fits = String(repeating: "é", count: 1024)
        var spec = asg
        spec.setValue(["d": .string(fits)], at: ["metrics", "cloudwatch", "dimensions"])
        #expect((try? PolicySpec.parse(spec).get())?.cloudWatch.dimensions["d"] == fits)
    }

    /// What kube-apiserver's CEL cost estimator and a tenant's worst case both need: every string a tenant writes
    /// in spec has a maxLength (or an enum or a format), every list a maxItems, every map a maxProperties; the
    /// lists and condition fields the controller writes in status are bounded as it bounds them.
    @Test func everySpecStringListAndMapIsBounded() {
        var unbounded: [String] = []
        func walk(_ node: JSONValue, _ path: String) {
            switch node["type"]?.stringValue {
            case "string" where node["maxLength"] == nil && node["enum"] == nil && node["format"] == nil:
                unbounded.append(path)
            case "array" where node["maxItems"] == nil:
                unbounded.append(path)
            case "object" where node["additionalProperties"]?.objectValue != nil && node["maxProperties"] == nil:
                unbounded.append(path)
            default: break
            }
            for (key, child) in node["properties"]?.objectValue ?? [:] { walk(child, path + "." + key) }
            if let items = node["items"] { walk(items, path + "[]") }
            if let values = node["additionalProperties"], values.objectValue != nil { walk(values, path + "{}") }
        }
        walk(SpecFieldsTests.schema, "spec")
        #expect(unbounded.isEmpty, "unbounded in spec: \(unbounded)")
        let status = Fixtures.scalingPolicySchema.value(at: ["properties", "status", "properties"]) ?? .null
        #expect(status.value(at: ["recommendations", "maxItems"])?.intValue == 64)
        #expect(status.value(at: ["lastForecast", "properties", "points", "maxItems"])?.intValue == 2016)
        #expect(status.value(at: ["conditions", "maxItems"])?.intValue == 16)
        let condition = status.value(at: ["conditions", "items", "properties"]) ?? .null
        #expect(condition.value(at: ["message", "maxLength"])?.intValue == PolicyStatus.maxConditionMessageLength)
    }

    /// The condition types the CRD's printer columns read are the engine's, by wire name.
    @Test func printerColumnsReadTheEnginesConditionTypes() throws {
        let text = try String(
            contentsOf: Fixtures.root.appendingPathComponent("crds/scalingpolicy.yaml"), encoding: .utf8)
        let named = text.components(separatedBy: "@.type==\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(!named.isEmpty)
        for type in named { #expect(ConditionType(rawValue: type) != nil, "\(type) is not a ConditionType") }
    }

    @Test func aFailureMessageLongerThanTheCRDAllowsIsCut() throws {
        let message = "Prometheus answered: " + String(repeating: "x", count: 40000)
        let failed = Step.failed(
            previous: PolicyStatus(), generation: 1, now: Date(timeIntervalSince1970: 0), reason: .targetUnavailable,
            message: message)
        let ready = try #require(failed.status.conditionList.condition(.ready))
        #expect(ready.message.unicodeScalars.count == PolicyStatus.maxConditionMessageLength)
        #expect(ready.message.hasPrefix("Prometheus answered: xxx") && ready.message.hasSuffix("(cut)"))
    }

    @Test func simulatedInputsAreTraceColumns() throws {
        let simulated: JSONValue = ["target": ["kind": "Simulated", "name": "w", "simulation": [:]]]
        try Self.expectProblem(
            simulated, #"{"metrics": {"inputs": [{"name": "network_in", "query": "x"}]}}"#,
            "trace column named network_in")
        let valid = applyMergePatch(
            try JSONValue(parsing: Data(#"{"metrics": {"inputs": [{"name": "network_in"}]}}"#.utf8)), to: simulated)
        #expect(try PolicySpec.parse(valid).get().inputs.map(\.name) == ["network_in"])
        let prometheus = try PolicySpec.parse(
            applyMergePatch(
                try JSONValue(
                    parsing: Data(
                        #"{"metrics": {"prometheus": {"aggregate": "sum", "capacityPerReplica": 50}, "inputs": [{"name": "rps", "query": "sum(rate(x[5m]))"}]}}"#
                            .utf8)),
                to: Self.prometheus)
        ).get()
        #expect(
            prometheus.prometheus?.query == "up" && prometheus.prometheus?.capacityPerReplica == 50
                && prometheus.prometheus?.aggregate == .sum)
        #expect(prometheus.prometheus?.address == nil)
        #expect(prometheus.inputs.map(\.name) == ["rps"] && prometheus.inputs.first?.query == "sum(rate(x[5m]))")
    }

    static func expectProblem(_ base: JSONValue, _ override: String, _ field: String) throws {
        let spec = applyMergePatch(try JSONValue(parsing: Data(override.utf8)), to: base)
        guard case .failure(let invalid) = PolicySpec.parse(spec) else {
            Issue.record("accepted \(spec)")
            return
        }
        #expect(invalid.description.contains(field), "\(invalid)")
    }
}

/// Every field the controller writes to status is declared in the CRD's status schema: a
/// real kube-apiserver prunes undeclared fields, and a pruned pendingAction would lose the
/// record that makes actions idempotent.
@Suite struct StatusSchemaTests {
    @Test func everyStatusFieldIsDeclared() throws {
        let status = try #require(Self.statusSchema)
        // Every field set (a field added to PolicyStatus and not here fails the Mirror check).
        let t = "2026-01-01T00:00:00Z"
        let action: JSONValue = ["id": "a", "from": 1, "to": 2, "reason": "r", "time": .string(t)]
        let full = PolicyStatus(json: [
            "observedGeneration": 1, "targetRef": "Simulated/w", "replicas": "1/2", "loadVsTarget": "1%/2%",
            "forecastSummary": "x", "lastActionSummary": "x", "currentCapacity": 1, "inServiceCapacity": 1,
            "desiredCapacity": 1, "mode": "Predictive", "currentLoad": .number(1.5), "currentUtilization": .number(1.5),
            "lastScaleUpTime": .string(t), "lastScaleDownTime": .string(t), "lastAction": action,
            "pendingAction": action,
            "lastForecast": [
                "time": .string(t), "load": .number(1.5), "quantile": .number(0.8), "leadTimeSeconds": 300,
                "points": [["time": .string(t), "value": .number(1.5), "median": .number(1.5)]],
            ],
            "recommendations": [["time": .string(t), "capacity": 1]],
            "leadTime": ["seconds": 300, "source": "Learned", "samples": [280, 300, 310]],
            "model": [
                "artefact": "file:///m", "version": "v", "trainedAt": .string(t), "loadedAt": .string(t),
                "holdoutMAE": .number(1.5), "baseline": "b", "baselineMAE": .number(1.5), "served": "ets",
                "selection": "x",
            ],
            "conditions": [
                [
                    "type": "Ready", "status": "True", "observedGeneration": 1, "lastTransitionTime": .string(t),
                    "reason": "R", "message": "m",
                ]
            ],
        ])
        for child in Mirror(reflecting: full).children {
            #expect("\(child.value)" != "nil", "PolicyStatus.\(child.label ?? "?") is not set by this test")
        }
        var undeclared: [String] = []
        func walk(_ value: JSONValue, _ schema: JSONValue?, _ path: String) {
            guard let schema else {
                undeclared.append(path)
                return
            }
            switch value {
            case .object(let fields):
                for (key, child) in fields { walk(child, schema.value(at: ["properties", key]), "\(path).\(key)") }
            case .array(let items):
                for item in items { walk(item, schema["items"], "\(path)[]") }
            default:
                break
            }
        }
        let json = full.json
        #expect((json.objectValue?.count ?? 0) >= 20, "the status under test is populated")
        walk(json, status, "status")
        #expect(undeclared.isEmpty, "not in the CRD's status schema: \(undeclared)")
    }

    static var statusSchema: JSONValue? { Fixtures.scalingPolicySchema.value(at: ["properties", "status"]) }
}
