import Foundation
import TestSupport
import Testing

@testable import KubeCore

/// Our YAML subset against PyYAML (`yaml.safe_load_all`) on the shapes Forescale reads:
/// kubeconfigs, manifests, policies. Samples avoid YAML 1.1-only booleans (yes/on), where
/// PyYAML and YAML 1.2 differ.
@Suite("YAML vs. PyYAML")
struct YAMLOracleTests {
    static let samples: [String] = [
        """
        apiVersion: v1
        kind: Config
        current-context: demo
        clusters:
        - cluster:
            certificate-authority-data: LS0tLS1CRUdJTg==
            server: https://127.0.0.1:6443
          name: demo
        contexts:
        - context:
            cluster: demo
            namespace: default
            user: admin
          name: demo
        users:
        - name: admin
          user:
            token: "abc.def"   # a comment
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: aws
              args: ["eks", "get-token", "--cluster-name", 'shop']
              env: null
        preferences: {}
        """,
        """
        # a policy
        apiVersion: forescale.io/v1alpha1
        kind: ScalingPolicy
        metadata:
          name: web
          labels: {app: web, tier: frontend}
        spec:
          target: {kind: AutoScalingGroup, name: web-asg, region: us-east-2}
          minCapacity: 2
          maxCapacity: 20
          targetUtilization: 60.5
          forecast:
            quantile: 0.9
            horizonSteps: 12
          suspend: false
          notes: |
            first line
            second line
          folded: >
            one
            two
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: shop-calendar
        data:
          events.json: '[{"name": "sale", "start": "2026-11-27T00:00:00Z"}]'
          quoted: "tab\\tand \\"quotes\\""
          empty: ""
          tilde: ~
        """,
        """
        items:
          - a
          - - nested
            - list
          - key: value
            other: 2
          -
            late: item
        list_at_key_indent:
        - x
        - y
        version: 1.10
        octal_like: 0755
        negative: -3
        """,
    ]

    /// The repository's own manifests (nested flow collections, quoted JSONPaths, patterns).
    static var manifests: [String] {
        ["crds/scalingpolicy.yaml", "Tests/Fixtures/kube/crd.yaml"].compactMap { path in
            (try? Data(contentsOf: Fixtures.root.appendingPathComponent(path))).map {
                String(decoding: $0, as: UTF8.self)
            }
        }
    }

    @Test func matchesPyYAML() async throws {
        #expect(Self.manifests.count == 2)
        for (index, sample) in (Self.samples + Self.manifests).enumerated() {
            let ours = try YAML.parseDocuments(sample)
            let script = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))"
            let result = try await Subprocess.run("python3", ["-c", script], input: Data(sample.utf8))
            try #require(result.status == 0, "PyYAML failed: \(result.stderr)")
            let reference = try JSONValue(parsing: Data(result.stdout.utf8))
            #expect(JSONValue.array(ours) == reference, "sample \(index)")
        }
    }

    @Test(
        "malformed YAML names the line",
        arguments: [
            ("a: 1\n  b: 2\n", 2),
            ("a: \"unterminated\n", 1),
            ("- a\nb: 1\n", 2),
        ])
    func malformed(text: String, line: Int) {
        #expect { try YAML.parse(text) } throws: { error in
            (error as? YAML.ParseError)?.line == line
        }
    }
}
