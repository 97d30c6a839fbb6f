import Foundation
import KubeCore
import TestSupport
import Testing

@testable import APIServer

/// Every `x-kubernetes-validations` rule of the ScalingPolicy CRD, evaluated by the embedded API server's CEL
/// subset and by a real CEL implementation (PyPI's cel-python) on a table of specs, defaulted as the server
/// defaults them: the verdicts agree, so what the embedded server accepts a cluster accepts too.
@Suite struct CELPeerTests {
    /// (path from the object's root, rule) for every rule in the schema.
    static func rules(_ schema: JSONValue, path: [String] = []) -> [(path: [String], rule: String)] {
        var found: [(path: [String], rule: String)] = []
        for rule in schema["x-kubernetes-validations"]?.arrayValue ?? [] {
            if let text = rule["rule"]?.stringValue { found.append((path, text)) }
        }
        if case .object(let properties)? = schema["properties"] {
            for (name, child) in properties.sorted(by: { $0.key < $1.key }) {
                found += rules(child, path: path + [name])
            }
        }
        return found
    }

    static let specs: [String] = [
        #"{"target": {"kind": "Simulated", "name": "w", "simulation": {}}, "minCapacity": 20, "maxCapacity": 5}"#,
        #"{"target": {"kind": "Simulated", "name": "w", "simulation": {}}, "minCapacity": 5, "maxCapacity": 5}"#,
        #"{"target": {"kind": "Simulated", "name": "w", "simulation": {}}, "thresholds": {"scaleDownBelow": 80}}"#,
        #"{"target": {"kind": "Simulated", "name": "w", "simulation": {}}, "thresholds": {"scaleUpAbove": 90, "scaleDownBelow": 20}}"#,
        #"{"target": {"kind": "Simulated", "name": "w"}}"#,
        #"{"target": {"kind": "Simulated", "name": "w", "simulation": {}}, "metrics": {"source": "cloudwatch"}}"#,
        #"{"target": {"kind": "Simulated", "name": "w", "simulation": {}}, "metrics": {"source": "prometheus"}}"#,
        #"{"target": {"kind": "Deployment", "name": "d"}, "metrics": {"source": "prometheus", "prometheus": {"query": "up"}}}"#,
        #"{"target": {"kind": "Deployment", "name": "d"}, "metrics": {"source": "simulated"}}"#,
        #"{"target": {"kind": "AutoScalingGroup", "name": "g"}}"#,
        #"{"target": {"kind": "AutoScalingGroup", "name": "g", "region": "eu-west-1"}, "metrics": {"source": "cloudwatch"}}"#,
        #"{"target": {"kind": "Deployment", "name": "d"}}"#,
    ]

    @Test func everyRuleAgreesWithARealCELImplementation() async throws {
        let schemaJSON = Fixtures.scalingPolicySchema
        let schema = try StructuralSchema(schemaJSON)
        let rules = Self.rules(schemaJSON)
        #expect(rules.count >= 6, "the CRD's rules were found: \(rules.map(\.rule))")
        var cases: [JSONValue] = []
        var ours: [(spec: String, rule: String, verdict: Bool?)] = []
        for text in Self.specs {
            var object: JSONValue = [
                "apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy",
                "spec": try JSONValue(parsing: Data(text.utf8)),
            ]
            schema.applyDefaults(&object)
            for (path, rule) in rules {
                // kube-apiserver evaluates a rule only where its object is present.
                guard let value = object.value(at: path) else { continue }
                let compiled = try CELRule(rule: rule, message: nil)
                ours.append((text, rule, try? compiled.evaluate(value).get()))
                cases.append(["rule": .string(rule), "self": value])
            }
        }
        let input = JSONValue.object(["cases": .array(cases)]).serialized()
        let peer = try await Subprocess.run(
            "python3", [Fixtures.path("peers/cel_verdicts.py")], input: input)
        #expect(peer.status == 0, "\(peer.stderr)")
        let verdicts = try #require(try JSONValue(parsing: Data(peer.stdout.utf8)).arrayValue)
        #expect(verdicts.count == ours.count)
        var refusals = 0
        for (index, case_) in ours.enumerated() where index < verdicts.count {
            let theirs: Bool? = if case .bool(let value) = verdicts[index] { value } else { nil }
            #expect(
                case_.verdict == theirs,
                "\(case_.rule) on \(case_.spec): ours \(String(describing: case_.verdict)), cel-python \(verdicts[index])"
            )
            if theirs == false { refusals += 1 }
        }
        #expect(refusals >= 6, "the table exercises refusals, not only acceptances (\(refusals))")
    }
}
