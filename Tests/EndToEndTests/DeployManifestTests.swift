import Foundation
import TestSupport
import Testing

/// What `kubectl apply -k deploy/` sends, checked by a schema checker that is not ours: PyPI's
/// `kubernetes-validate` (the Kubernetes OpenAPI schemas of each release, strict: unknown fields are errors)
/// on the base and the single-namespace overlay, for the oldest and newest releases we support.
@Suite struct DeployManifestTests {
    static let versions = ["1.29.0", "1.33.0", "1.37.0"]

    static func render(_ path: String) async throws -> String {
        let rendered = try await Subprocess.run(
            "kubectl", ["kustomize", Fixtures.root.appendingPathComponent(path).path])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        return rendered.stdout
    }

    static func validate(_ manifests: String, version: String) async throws -> CommandResult {
        let directory = try TemporaryDirectory()
        let file = directory.file("rendered.yaml")
        try Data(manifests.utf8).write(to: URL(fileURLWithPath: file))
        return try await Subprocess.run("python3", ["-m", "kubernetes_validate", "--strict", "-k", version, file])
    }

    @Test(arguments: versions)
    func theInstallIsValidForEachRelease(version: String) async throws {
        for path in ["deploy", "deploy/overlays/single-namespace"] {
            let manifests = try await Self.render(path)
            let objects = manifests.split(separator: "\n").filter { $0.hasPrefix("kind: ") }.count
            #expect(objects >= 15, "\(path): \(objects) objects rendered")
            let result = try await Self.validate(manifests, version: version)
            #expect(result.status == 0, "\(path) against \(version): \(result.stdout)\(result.stderr)")
            let passed = (result.stdout + result.stderr).components(separatedBy: " passed for resource ").count - 1
            #expect(passed == objects, "\(path) against \(version): every object checked (\(passed) of \(objects))")
        }
    }

    /// The checker is strict and real: a misspelt field in the controller's Deployment is refused.
    @Test func aMisspeltFieldIsRefused() async throws {
        let manifests = try await Self.render("deploy")
        let broken = manifests.replacingOccurrences(
            of: "readOnlyRootFilesystem: true", with: "readOnlyRootFilesytem: true")
        #expect(broken != manifests)
        let result = try await Self.validate(broken, version: Self.versions.last!)
        #expect(result.status != 0, "\(result.stdout)")
    }
}

/// The CRDs against apiextensions v1's structural-schema rules, by a checker apart from the embedded API server's
/// schema code (`Tests/Fixtures/peers/structural_schema.py`, written from kubernetes/apiextensions-apiserver's
/// ValidateStructural, its completeness check and v1's schema rules): today's CRD, the previous release's, and the
/// rendered install pass; a table of schemas kube-apiserver refuses is refused, each for its own reason.
@Suite struct CRDStructuralSchemaTests {
    static func check(_ yaml: String) async throws -> CommandResult {
        let directory = try TemporaryDirectory()
        let file = directory.file("crd.yaml")
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
        return try await Subprocess.run("python3", [Fixtures.path("peers/structural_schema.py"), file])
    }

    @Test func theCRDsAreStructural() async throws {
        for path in ["crds/scalingpolicy.yaml", "Tests/Fixtures/kube/scalingpolicy-previous.yaml"] {
            let text = try String(contentsOfFile: Fixtures.root.appendingPathComponent(path).path, encoding: .utf8)
            let result = try await Self.check(text)
            #expect(
                result.status == 0 && result.stdout.contains("structural: 1 versions of 1 CRDs"),
                "\(path): \(result.stdout)")
        }
        let rendered = try await DeployManifestTests.render("deploy")
        let result = try await Self.check(rendered)
        #expect(result.status == 0 && result.stdout.contains("of 1 CRDs"), "deploy/: \(result.stdout)")
    }

    /// One CRD whose `spec` schema is `body` (YAML at the indentation of spec's keys), with `metadata`'s schema when
    /// given.
    static func crd(spec body: String, metadata: String? = nil) -> String {
        let root = metadata.map { "\n          metadata: \($0)" } ?? ""
        return """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: widgets.example.com}
            spec:
              group: example.com
              names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
              scope: Namespaced
              versions:
              - name: v1
                served: true
                storage: true
                schema:
                  openAPIV3Schema:
                    type: object
                    properties:\(root)
                      spec:
            \(body)
            """
    }

    static let refused: [(String, String, String)] = [
        (
            "a field without a type", "type: object\nproperties: {size: {minimum: 1}}",
            "must not be empty for specified object fields"
        ),
        ("an array without items", "type: object\nproperties: {sizes: {type: array}}", "items: must be specified"),
        (
            "properties beside additionalProperties",
            "type: object\nproperties: {a: {type: string}}\nadditionalProperties: {type: string}",
            "mutual exclusive"
        ),
        (
            "a type inside anyOf", "type: object\nproperties: {a: {type: string}}\nanyOf: [{type: object}]",
            "type: must be undefined"
        ),
        (
            "a junctor naming a field not specified outside it",
            "type: object\nproperties: {a: {type: string}}\nanyOf: [{properties: {b: {minLength: 1}}}]",
            "must be specified outside the junctor"
        ),
        (
            "a default the schema does not know", "type: object\nproperties: {a: {type: string}}\ndefault: {b: x}",
            "is not pruned"
        ),
        (
            "a default of the wrong type", "type: object\nproperties: {a: {type: integer, default: x}}",
            "must be of type integer"
        ),
        ("$ref", "type: object\nproperties: {a: {$ref: '#/x'}}", "$ref is not supported"),
        (
            "uniqueItems", "type: object\nproperties: {a: {type: array, uniqueItems: true, items: {type: string}}}",
            "quadratic"
        ),
        (
            "a map list without keys",
            "type: object\nproperties: {a: {type: array, x-kubernetes-list-type: map, items: {type: object}}}",
            "must not be empty if x-kubernetes-list-type is map"
        ),
        (
            "an unparsable pattern", "type: object\nproperties: {a: {type: string, pattern: '('}}",
            "must be a valid regular expression"
        ),
        ("a rule without its text", "type: object\nx-kubernetes-validations: [{message: m}]", "rule is not specified"),
    ]

    @Test(arguments: refused)
    func aNonStructuralSchemaIsRefused(label: String, schema: String, reason: String) async throws {
        let body = schema.split(separator: "\n").map { "            " + $0 }.joined(separator: "\n")
        let result = try await Self.check(Self.crd(spec: body))
        #expect(result.status == 1 && result.stdout.contains(reason), "\(label): \(result.stdout)\(result.stderr)")
    }

    @Test func rootMetadataBeyondNameIsRefusedAndIntOrStringIsAccepted() async throws {
        let plain = "            type: object"
        let named = try await Self.check(
            Self.crd(spec: plain, metadata: "{type: object, properties: {name: {type: string}}}"))
        #expect(named.status == 0, "\(named.stdout)")
        let labelled = try await Self.check(
            Self.crd(spec: plain, metadata: "{type: object, properties: {labels: {type: object}}}"))
        #expect(
            labelled.status == 1 && labelled.stdout.contains("other than name and generateName"), "\(labelled.stdout)")
        let intOrString =
            "            type: object\n            properties:\n              port: {x-kubernetes-int-or-string: true, "
            + "anyOf: [{type: integer}, {type: string}]}"
        let accepted = try await Self.check(Self.crd(spec: intOrString))
        #expect(accepted.status == 0, "\(accepted.stdout)")
    }
}
