import Foundation
import KubeCore
import PolicyEngine
import TestSupport
import Testing

@testable import APIServer

@Suite struct StructuralSchemaTests {
    static let schema = try! StructuralSchema([
        "type": "object",
        "properties": [
            "spec": [
                "type": "object",
                "required": ["replicas"],
                "properties": [
                    "replicas": ["type": "integer", "minimum": 0, "maximum": 10],
                    "mode": ["type": "string", "enum": ["Active", "ForecastOnly"], "default": "Active"],
                    "name": ["type": "string", "pattern": "^[a-z]+$", "maxLength": 5],
                    "window": [
                        "type": "object", "default": [:],
                        "properties": ["seconds": ["type": "integer", "default": 300]],
                    ],
                    "tags": ["type": "array", "items": ["type": "string"], "maxItems": 2],
                    "free": ["type": "object", "x-kubernetes-preserve-unknown-fields": true],
                    "size": ["x-kubernetes-int-or-string": true],
                ],
            ]
        ],
    ])

    @Test func prunesUnknownFieldsAndReportsThem() {
        var object: JSONValue = [
            "apiVersion": "x/v1", "kind": "X",
            "metadata": ["name": "a", "bogus": 1],
            "spec": ["replicas": 1, "extra": true, "free": ["anything": ["goes": 1]]],
            "stray": 1,
        ]
        let unknown = Self.schema.prune(&object)
        #expect(unknown == ["metadata.bogus", "spec.extra", "stray"])
        #expect(object["stray"] == nil && object.value(at: ["spec", "extra"]) == nil)
        #expect(object.value(at: ["spec", "free", "anything", "goes"]) == 1)
        #expect(object["apiVersion"] == "x/v1")
    }

    @Test func appliesNestedDefaults() {
        var object: JSONValue = ["spec": ["replicas": 2]]
        Self.schema.applyDefaults(&object)
        #expect(object.value(at: ["spec", "mode"]) == "Active")
        #expect(object.value(at: ["spec", "window", "seconds"]) == 300, "a defaulted object gets its own defaults")
    }

    static let rejections: [(JSONValue, String, String)] = [
        (["replicas": 11], "spec.replicas", "should be less than or equal to 10"),
        (["replicas": -1], "spec.replicas", "should be greater than or equal to 0"),
        (["replicas": "two"], "spec.replicas", "must be of type integer"),
        (["replicas": 1, "mode": "Sometimes"], "spec.mode", "Unsupported value: \"Sometimes\""),
        (["replicas": 1, "name": "Abc"], "spec.name", "should match '^[a-z]+$'"),
        (["replicas": 1, "name": "abcdefg"], "spec.name", "Too long"),
        (["replicas": 1, "tags": ["a", "b", "c"]], "spec.tags", "Too many"),
        (["replicas": 1, "size": true], "spec.size", "must be of type"),
        (["mode": "Active"], "spec.replicas", "Required value"),
    ]

    @Test(arguments: rejections)
    func rejects(spec: JSONValue, field: String, message: String) {
        let causes = Self.schema.validate(["spec": spec])
        #expect(causes.count == 1)
        #expect(causes.first?.field == field)
        #expect(causes.first?.message.contains(message) == true, "\(causes)")
    }

    @Test func acceptsValidObjectsIncludingIntOrString() {
        #expect(Self.schema.validate(["spec": ["replicas": 3, "size": "10%", "tags": ["a"]]]).isEmpty)
        #expect(Self.schema.validate(["spec": ["replicas": 3, "size": 4]]).isEmpty)
    }

    @Test func rejectsNonStructuralSchemas() {
        #expect(throws: StructuralSchema.Invalid.self) {
            try StructuralSchema(["type": "object", "properties": ["x": ["description": "no type"]]])
        }
        #expect(throws: StructuralSchema.Invalid.self) { try StructuralSchema(["type": "array"]) }
        #expect(throws: StructuralSchema.Invalid.self) { try StructuralSchema(["type": "string", "pattern": "("]) }
    }
}

@Suite struct JSONPathTests {
    static let object: JSONValue = [
        "spec": ["replicas": 3, "items": [["name": "a"], ["name": "b"]]],
        "status": ["conditions": [["type": "Ready", "status": "True"], ["type": "Stale", "status": "False"]]],
        "metadata": ["labels": ["app.kubernetes.io/name": "web"]],
    ]

    static let cases: [(String, [JSONValue])] = [
        (".spec.replicas", [3]),
        (".spec.items[1].name", ["b"]),
        (".spec.items[*].name", ["a", "b"]),
        (".spec.items[-1].name", ["b"]),
        (".status.conditions[?(@.type==\"Ready\")].status", ["True"]),
        (".status.conditions[?(@.type=='Stale')].status", ["False"]),
        (".metadata.labels['app.kubernetes.io/name']", ["web"]),
        ("{.spec.missing}", []),
    ]

    @Test(arguments: cases)
    func evaluates(expression: String, expected: [JSONValue]) throws {
        #expect(try JSONPath(parsing: expression).evaluate(Self.object) == expected)
    }

    @Test func rejectsUnsupportedSyntax() {
        #expect(throws: JSONPath.ParseError.self) { try JSONPath(parsing: ".spec[") }
        #expect(throws: JSONPath.ParseError.self) { try JSONPath(parsing: ".spec[?(@.a>1)]") }
        #expect(throws: JSONPath.ParseError.self) { try JSONPath(parsing: "spec") }
    }
}

@Suite struct StrategicMergeTests {
    static let deployment: JSONValue = [
        "metadata": ["finalizers": ["a"], "labels": ["x": "1"]],
        "spec": [
            "template": [
                "spec": [
                    "containers": [
                        ["name": "web", "image": "v1", "env": [["name": "A", "value": "1"]]],
                        ["name": "side", "image": "s1"],
                    ]
                ]
            ]
        ],
    ]

    @Test func mergesListsByKeyAndMapsByField() throws {
        let patch: JSONValue = [
            "spec": [
                "template": [
                    "spec": ["containers": [["name": "web", "image": "v2", "env": [["name": "B", "value": "2"]]]]]
                ]
            ], "metadata": ["labels": ["x": nil, "y": "2"], "finalizers": ["b"]],
        ]
        let result = try StrategicMerge.apply(patch, to: Self.deployment)
        let containers = result.value(at: ["spec", "template", "spec", "containers"])?.arrayValue ?? []
        #expect(containers.count == 2)
        #expect(containers[0]["image"] == "v2" && containers[1]["image"] == "s1")
        #expect(containers[0]["env"]?.arrayValue?.count == 2, "env merged by name")
        #expect(result.value(at: ["metadata", "labels"]) == ["y": "2"])
        #expect(result.value(at: ["metadata", "finalizers"]) == ["a", "b"], "finalizers are a merged primitive list")
    }

    @Test func directivesDeleteReplaceOrderAndRetain() throws {
        let delete: JSONValue = [
            "spec": ["template": ["spec": ["containers": [["name": "side", "$patch": "delete"]]]]]
        ]
        #expect(
            try StrategicMerge.apply(delete, to: Self.deployment).value(at: ["spec", "template", "spec", "containers"])?
                .arrayValue?.count == 1)
        let replace: JSONValue = ["metadata": ["labels": ["$patch": "replace", "z": "3"]]]
        #expect(try StrategicMerge.apply(replace, to: Self.deployment).value(at: ["metadata", "labels"]) == ["z": "3"])
        let order: JSONValue = [
            "spec": ["template": ["spec": ["$setElementOrder/containers": [["name": "side"], ["name": "web"]]]]]
        ]
        let ordered = try StrategicMerge.apply(order, to: Self.deployment).value(at: [
            "spec", "template", "spec", "containers",
        ])?.arrayValue
        #expect(ordered?.compactMap { $0["name"]?.stringValue } == ["side", "web"])
        let removeFinalizer: JSONValue = ["metadata": ["$deleteFromPrimitiveList/finalizers": ["a"]]]
        #expect(
            try StrategicMerge.apply(removeFinalizer, to: Self.deployment).value(at: ["metadata", "finalizers"]) == [])
        let retain: JSONValue = ["metadata": ["$retainKeys": ["labels"]]]
        #expect(try StrategicMerge.apply(retain, to: Self.deployment).value(at: ["metadata", "finalizers"]) == nil)
    }
}

@Suite struct ManagedFieldsTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func applyConflictsWithAnotherManagerUnlessForced() throws {
        let first = try ManagedFields.apply(
            ["spec": ["replicas": 2, "mode": "Active"]], to: ["metadata": ["name": "a"]], manager: "alice",
            force: false, subresource: nil, apiVersion: "v1", now: Self.now)
        #expect(first.value(at: ["spec", "replicas"]) == 2)
        do {
            _ = try ManagedFields.apply(
                ["spec": ["replicas": 5]], to: first, manager: "bob", force: false, subresource: nil, apiVersion: "v1",
                now: Self.now)
            Issue.record("expected a conflict")
        } catch {
            #expect(error.conflicts.map(\.manager) == ["alice"])
            #expect(error.conflicts.map { ManagedFields.dotted($0.path) } == [".spec.replicas"])
        }
        // Same value: shared ownership, no conflict.
        _ = try ManagedFields.apply(
            ["spec": ["replicas": 2]], to: first, manager: "bob", force: false, subresource: nil, apiVersion: "v1",
            now: Self.now)
        let forced = try ManagedFields.apply(
            ["spec": ["replicas": 5]], to: first, manager: "bob", force: true, subresource: nil, apiVersion: "v1",
            now: Self.now)
        let owners = ManagedFields.entries(of: forced)
        #expect(owners.first { $0.manager == "alice" }?.fields == [["spec", "mode"]])
        #expect(owners.first { $0.manager == "bob" }?.fields == [["spec", "replicas"]])
    }

    @Test func fieldsAManagerStopsApplyingAreRemoved() throws {
        let first = try ManagedFields.apply(
            ["spec": ["replicas": 2, "mode": "Active"]], to: [:], manager: "alice", force: false, subresource: nil,
            apiVersion: "v1", now: Self.now)
        let second = try ManagedFields.apply(
            ["spec": ["replicas": 2]], to: first, manager: "alice", force: false, subresource: nil, apiVersion: "v1",
            now: Self.now)
        #expect(second.value(at: ["spec", "mode"]) == nil)
    }

    @Test func updatesTransferOwnershipOfChangedFields() throws {
        let applied = try ManagedFields.apply(
            ["spec": ["replicas": 2]], to: [:], manager: "alice", force: false, subresource: nil, apiVersion: "v1",
            now: Self.now)
        var updated = applied
        updated.setValue(7, at: ["spec", "replicas"])
        ManagedFields.recordUpdate(
            old: applied, new: &updated, manager: "kubectl-edit", subresource: nil, apiVersion: "v1", now: Self.now)
        let entries = ManagedFields.entries(of: updated)
        #expect(entries.map(\.manager) == ["kubectl-edit"], "alice's entry is empty and dropped")
        #expect(ManagedFields.fieldsV1([["spec", "replicas"]]) == ["f:spec": ["f:replicas": [:]]])
    }
}

@Suite struct KubeProtobufTests {
    /// Protobuf field helpers to build what client-go sends for `kubectl create configmap`.
    func field(_ number: Int, _ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8((number << 3) | 2)]
        var length = bytes.count
        repeat {
            var byte = UInt8(length & 0x7F)
            length >>= 7
            if length > 0 { byte |= 0x80 }
            out.append(byte)
        } while length > 0
        return out + bytes
    }

    func text(_ number: Int, _ value: String) -> [UInt8] { field(number, Array(value.utf8)) }

    @Test func decodesAConfigMapEnvelope() throws {
        let meta =
            text(1, "calendar") + text(2, "") + text(3, "default") + field(11, text(1, "app") + text(2, "web"))
            + text(14, "hold")
        let configMap =
            field(1, meta) + field(2, text(1, "black-friday") + text(2, "2026-11-27"))
            + field(3, text(1, "blob") + field(2, [0, 1, 2]))
        let unknown = field(1, text(1, "v1") + text(2, "ConfigMap")) + field(2, configMap)
        let decoded = try KubeProtobuf.decode(Data(KubeProtobuf.magic + unknown))
        #expect(decoded["kind"] == "ConfigMap" && decoded["apiVersion"] == "v1")
        #expect(
            decoded["metadata"] == [
                "name": "calendar", "namespace": "default", "labels": ["app": "web"], "finalizers": ["hold"],
            ])
        #expect(decoded["data"] == ["black-friday": "2026-11-27"])
        #expect(decoded["binaryData"] == ["blob": "AAEC"])
    }

    @Test func rejectsWhatItCannotDecode() {
        #expect(throws: KubeProtobuf.DecodeError.self) { try KubeProtobuf.decode(Data("{}".utf8)) }
        let pod = field(1, text(1, "v1") + text(2, "Pod")) + field(2, [])
        #expect(throws: KubeProtobuf.DecodeError.self) { try KubeProtobuf.decode(Data(KubeProtobuf.magic + pod)) }
        #expect(throws: KubeProtobuf.DecodeError.self) {
            try KubeProtobuf.decode(Data(KubeProtobuf.magic + [0x0A, 0x05, 0x01]))
        }
    }
}

@Suite struct APIServerFormattingTests {
    static let durations: [(Double, String)] = [
        (45, "45s"), (119, "119s"), (303, "5m3s"), (600, "10m"), (11_000, "3h3m"), (30 * 3600, "30h"),
        (3 * 86_400 + 5 * 3600, "3d5h"), (400 * 86_400, "400d"), (800 * 86_400, "2y70d"),
    ]

    @Test(arguments: durations)
    func humanDurations(seconds: Double, expected: String) {
        #expect(TableColumn.humanDuration(seconds) == expected)
    }

    @Test func timestampsRoundTrip() throws {
        let date = try #require(Timestamps.parse("2026-11-29T06:00:00Z"))
        #expect(Timestamps.format(date) == "2026-11-29T06:00:00Z")
        #expect(Timestamps.formatMicro(date.addingTimeInterval(0.25)) == "2026-11-29T06:00:00.250000Z")
        #expect(Timestamps.parse("2026-11-29T07:00:00+01:00") == date)
        #expect(Timestamps.parse("2026-11-29T06:00:00.123456Z")?.timeIntervalSince(date) ?? 0 > 0.1234)
        #expect(Timestamps.parse("29/11/2026") == nil)
    }

    @Test func crdValidationNamesTheProblems() {
        let crd: JSONValue = [
            "metadata": ["name": "wrong.example.io"],
            "spec": [
                "group": "example", "scope": "Everywhere", "names": ["plural": "Widgets", "kind": "Widget"],
                "versions": [["name": "v1", "served": true, "storage": false]],
            ],
        ]
        let fields = Set(CustomResourceDefinitions.validate(crd).map(\.field))
        #expect(
            fields.isSuperset(of: [
                "spec.group", "spec.names.plural", "spec.scope", "spec.versions",
                "spec.versions[0].schema.openAPIV3Schema",
            ]))
    }

    @Test func versionPriorityOrdersLikeKubernetes() {
        #expect(
            ["v1alpha1", "v1beta2", "v2", "v1", "v1beta1", "v10"].sorted(by: ResourceRegistry.versionPriority) == [
                "v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1",
            ])
    }
}

@Suite struct ResourceVersionSpliceTests {
    @Test(
        arguments: [
            ("xxabcxx", 2), ("abc", 0), ("xxab", nil), ("abcabc", nil), ("ababcab", 2), ("", nil), ("xxxxabc", 4),
        ] as [(String, Int?)])
    func findsTheOnlyOccurrence(text: String, expected: Int?) {
        #expect(ObjectStore.onlyOccurrence(of: Array("abc".utf8), in: Data(text.utf8)) == expected)
    }

    @Test func splicesTheVersionOrReserialises() throws {
        let object: JSONValue = [
            "metadata": ["name": "a", "resourceVersion": .string(String(ObjectStore.pendingVersion))],
            "data": ["k": "v"],
        ]
        var expected = object
        expected.setValue("7", at: ["metadata", "resourceVersion"])
        #expect(
            String(decoding: ObjectStore.splice(object.serialized(), version: 7), as: UTF8.self)
                == String(decoding: expected.serialized(), as: UTF8.self))
        // The placeholder twice (another field happens to hold it): re-serialised, only metadata changes.
        let twice = Data(
            #"{"a":{"resourceVersion":"\#(ObjectStore.pendingVersion)"},"metadata":{"resourceVersion":"\#(ObjectStore.pendingVersion)"}}"#
                .utf8)
        #expect(
            try JSONValue(parsing: ObjectStore.splice(twice, version: 7)).value(at: ["metadata", "resourceVersion"])
                == "7")
        #expect(
            try JSONValue(parsing: ObjectStore.splice(twice, version: 7)).value(at: ["a", "resourceVersion"])
                == .string(String(ObjectStore.pendingVersion)))
    }
}

/// The CEL subset for `x-kubernetes-validations`.
@Suite struct CELRuleTests {
    @Test(arguments: [
        ("self.a <= self.b", #"{"a": 1, "b": 2}"#, true),
        ("self.a <= self.b", #"{"a": 3, "b": 2}"#, false),
        ("self.a <= self.b", #"{"a": 2.5, "b": 2}"#, false),
        ("!has(self.c) || self.c.d == 'x'", #"{"a": 1}"#, true),
        ("!has(self.c) || self.c.d == 'x'", #"{"c": {"d": "y"}}"#, false),
        ("has(self.c.d) && size(self.c.d) > 0", #"{"c": {"d": "y"}}"#, true),
        ("(self.a == 1 || self.b == 1) && !(self.a == self.b)", #"{"a": 1, "b": 2}"#, true),
        ("self.s != \"on\"", #"{"s": "on"}"#, false),
        ("size(self.l) >= 2", #"{"l": [1]}"#, false),
    ])
    func evaluates(_ rule: String, _ object: String, _ expected: Bool) throws {
        let compiled = try CELRule(rule: rule, message: nil)
        #expect(try compiled.evaluate(JSONValue(parsing: Data(object.utf8))).get() == expected, "\(rule) on \(object)")
    }

    @Test(arguments: [
        "self.a <=", "self.a.exists(x, x > 1)", "self.a + 1 > 2", "'open", "((((", "has(self)", "self.a = 1",
        String(repeating: "(", count: 200) + "true" + String(repeating: ")", count: 200),
        String(repeating: "!", count: 200) + "true",
    ])
    func refusesWhatItCannotEvaluate(_ rule: String) {
        #expect(throws: CELRule.CompileError.self, "\(rule)") { try CELRule(rule: rule, message: nil) }
    }

    @Test func aMissingFieldIsAnErrorNotAVerdict() throws {
        let rule = try CELRule(rule: "self.a < self.b", message: nil)
        guard case .failure = rule.evaluate(["a": 1]) else {
            Issue.record("a rule on a missing field evaluated")
            return
        }
    }

    @Test func aCRDWithARuleOutsideTheSubsetIsRefused() {
        #expect(throws: StructuralSchema.Invalid.self) {
            try StructuralSchema([
                "type": "object", "x-kubernetes-validations": [["rule": "self.all(k, k != 'x')"]],
            ])
        }
    }
}

/// The rules in crds/scalingpolicy.yaml refuse what `PolicySpec` calls a problem between
/// fields, so `kubectl apply` refuses it at once (on kube-apiserver and the embedded server).
@Suite struct ScalingPolicyCRDRuleTests {
    static let schema = try? StructuralSchema(Fixtures.scalingPolicySchema)

    static let simulated = #"{"target": {"kind": "Simulated", "name": "w", "simulation": {}}}"#

    @Test(arguments: [
        (simulated, #"{"minCapacity": 20, "maxCapacity": 5}"#, "minCapacity must not exceed maxCapacity"),
        (simulated, #"{"minCapacity": 20}"#, "minCapacity must not exceed maxCapacity"),
        (simulated, #"{"thresholds": {"scaleDownBelow": 80}}"#, "scaleDownBelow must be below scaleUpAbove"),
        (simulated, #"{"target": {"simulation": null}}"#, "simulation is required"),
        (simulated, #"{"metrics": {"source": "cloudwatch"}}"#, "must be an AutoScalingGroup"),
        (simulated, #"{"metrics": {"source": "prometheus"}}"#, "prometheus.query is required"),
        (#"{"target": {"kind": "AutoScalingGroup", "name": "g"}}"#, "{}", "region is required"),
        (
            #"{"target": {"kind": "Deployment", "name": "d"}}"#, #"{"metrics": {"source": "simulated"}}"#,
            "needs target.simulation"
        ),
        (simulated, #"{"minCapacity": 5, "maxCapacity": 5}"#, ""),
        (
            #"{"target": {"kind": "AutoScalingGroup", "name": "g", "region": "eu-west-1"}}"#,
            #"{"metrics": {"source": "cloudwatch"}}"#, ""
        ),
    ])
    func rulesAgreeWithThePolicyEngine(_ base: String, _ override: String, _ message: String) throws {
        let schema = try #require(Self.schema)
        let spec = applyMergePatch(
            try JSONValue(parsing: Data(override.utf8)), to: try JSONValue(parsing: Data(base.utf8)))
        var object: JSONValue = ["apiVersion": "forescale.io/v1alpha1", "kind": "ScalingPolicy", "spec": spec]
        schema.applyDefaults(&object)
        let causes = schema.validate(object)
        let engine = PolicySpec.parse(object["spec"])
        if message.isEmpty {
            #expect(causes.isEmpty, "\(causes)")
            #expect((try? engine.get()) != nil, "the engine accepts it too")
        } else {
            #expect(causes.contains { $0.message.contains(message) }, "\(causes)")
            guard case .failure = engine else {
                Issue.record("the engine accepted what the CRD refuses: \(spec)")
                return
            }
        }
    }
}
