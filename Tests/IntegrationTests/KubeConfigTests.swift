import Foundation
import Synchronization
import TestSupport
import Testing
import Transport

@testable import KubeClient

/// kubeconfig loading (files, merge, contexts, credentials), in-cluster config, and exec
/// credential plugins run as real child processes.
@Suite("kubeconfig")
struct KubeConfigTests {
    static let first = """
        apiVersion: v1
        kind: Config
        current-context: dev
        clusters:
        - name: dev-cluster
          cluster:
            server: https://127.0.0.1:6443
            certificate-authority-data: \(Data("CA PEM".utf8).base64EncodedString())
        - name: prod-cluster
          cluster:
            server: https://prod.example:443
            certificate-authority: certs/ca.crt
        users:
        - name: dev-user
          user:
            token: dev-token
        - name: cert-user
          user:
            client-certificate: certs/client.crt
            client-key-data: \(Data("KEY PEM".utf8).base64EncodedString())
        contexts:
        - name: dev
          context: {cluster: dev-cluster, user: dev-user, namespace: shop}
        - name: prod
          context:
            cluster: prod-cluster
            user: cert-user
        """

    static let second = """
        apiVersion: v1
        kind: Config
        current-context: eks
        clusters:
        - name: dev-cluster
          cluster:
            server: https://ignored.example
        - name: eks-cluster
          cluster:
            server: https://eks.example
            insecure-skip-tls-verify: true
        users:
        - name: eks-user
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: aws
              args: [eks, get-token, --cluster-name, shop]
              env:
              - name: AWS_PROFILE
                value: prod
        contexts:
        - name: eks
          context: {cluster: eks-cluster, user: eks-user}
        """

    @Test func mergesFilesInOrderAndResolvesEveryCredentialKind() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Self.first.write(toFile: directory.file("a.yaml"), atomically: true, encoding: .utf8)
        try Self.second.write(toFile: directory.file("b.yaml"), atomically: true, encoding: .utf8)
        let loader = KubeConfigLoader(
            environment: [
                "KUBECONFIG": "\(directory.file("a.yaml")):\(directory.path)/missing:\(directory.file("b.yaml"))"
            ], homeDirectory: "/nonexistent")

        let dev = try loader.load()
        #expect(dev.contextName == "dev")
        #expect(dev.server == "https://127.0.0.1:6443", "the first file's dev-cluster wins")
        #expect(dev.tls.certificateAuthority == .pem(Data("CA PEM".utf8)))
        #expect(dev.authentication == .bearerToken("dev-token"))
        #expect(dev.namespace == "shop")

        let prod = try loader.load(context: "prod")
        #expect(
            prod.tls.certificateAuthority == .file(directory.file("certs/ca.crt")), "relative to the kubeconfig file")
        #expect(prod.tls.clientCertificate == .file(directory.file("certs/client.crt")))
        #expect(prod.tls.clientKey == .pem(Data("KEY PEM".utf8)))
        #expect(prod.namespace == "default")

        let eks = try loader.load(context: "eks")
        #expect(eks.tls.insecureSkipVerify)
        #expect(
            eks.authentication
                == .exec(
                    ExecConfig(
                        command: "aws", arguments: ["eks", "get-token", "--cluster-name", "shop"],
                        environment: ["AWS_PROFILE": "prod"], apiVersion: "client.authentication.k8s.io/v1")))
    }

    @Test func errorsSayWhatIsMissing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: KubeConfigError.noConfiguration("no file at /nonexistent/.kube/config")) {
            try KubeConfigLoader(environment: [:], homeDirectory: "/nonexistent").load()
        }
        try Self.first.write(toFile: directory.file("config"), atomically: true, encoding: .utf8)
        let loader = KubeConfigLoader(environment: ["KUBECONFIG": directory.file("config")])
        #expect(throws: KubeConfigError.missingContext("nope")) { try loader.load(context: "nope") }
        try "clusters: [\n".write(toFile: directory.file("broken"), atomically: true, encoding: .utf8)
        #expect { try KubeConfigLoader(environment: ["KUBECONFIG": directory.file("broken")]).load() } throws: {
            error in
            guard case .unreadable(let path, _)? = error as? KubeConfigError else { return false }
            return path == directory.file("broken")
        }
    }

    @Test func resolveFallsBackToInClusterAndNamesBothAttemptsWhenNeitherWorks() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let nothing = KubeConfigLoader(environment: [:], homeDirectory: "/nonexistent")
        #expect { try nothing.resolve(serviceAccountDirectory: directory.path) } throws: { error in
            let text = "\(error)"
            return text.contains("/nonexistent/.kube/config") && text.contains("KUBERNETES_SERVICE_HOST")
        }
        try "token-1".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        let pod = KubeConfigLoader(
            environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
            homeDirectory: "/nonexistent")
        #expect(try pod.resolve(serviceAccountDirectory: directory.path).server == "https://10.96.0.1:443")
    }

    @Test func inClusterFromAServiceAccountDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "token-1".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        try "forescale-system\n".write(toFile: directory.file("namespace"), atomically: true, encoding: .utf8)
        let loader = KubeConfigLoader(environment: [
            "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        ])
        let connection = try loader.inCluster(directory: directory.path)
        #expect(connection.server == "https://10.96.0.1:443")
        #expect(connection.namespace == "forescale-system")
        #expect(connection.authentication == .bearerTokenFile(directory.file("token")))
        #expect(connection.tls.certificateAuthority == .file(directory.file("ca.crt")))
        #expect(throws: KubeConfigError.self) {
            try KubeConfigLoader(environment: [:]).inCluster(directory: directory.path)
        }
    }

    @Test func execPluginTokenIsCachedUntilExpiry() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The plugin counts its runs and checks it was told the API version.
        let script = """
            #!/bin/sh
            n=$(cat "\(directory.file("runs"))" 2>/dev/null || echo 0); n=$((n+1)); echo $n >\
             "\(directory.file("runs"))"
            case "$KUBERNETES_EXEC_INFO" in *client.authentication.k8s.io/v1*) ;; *) echo "no exec info" >&2; exit 3;;\
             esac
            echo "{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\
            \\"status\\":{\\"token\\":\\"token-$n-$EXTRA\\",\\"expirationTimestamp\\":\\"$1\\"}}"
            """
        // Written through a close-on-exec descriptor: a child spawned meanwhile by another test
        // must not inherit a write descriptor of the script (exec would fail with ETXTBSY).
        let fd = open(directory.file("plugin.sh"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        try #require(fd >= 0)
        _ = Array(script.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let clock = ManualDate(Date(timeIntervalSince1970: 1_800_000_000))
        let expiry = ISO8601DateFormatter().string(from: clock.now().addingTimeInterval(600))
        let provider = ExecCredentialProvider(
            config: ExecConfig(
                command: directory.file("plugin.sh"), arguments: [expiry], environment: ["EXTRA": "x"],
                apiVersion: "client.authentication.k8s.io/v1"), now: clock.now)
        #expect(try await provider.token() == "token-1-x")
        clock.advance(500)
        #expect(try await provider.token() == "token-1-x", "still valid for 100 s: cached")
        clock.advance(60)
        #expect(try await provider.token() == "token-2-x", "within a minute of expiry: refreshed")

        let failing = ExecCredentialProvider(
            config: ExecConfig(
                command: "false", arguments: [], environment: [:], apiVersion: "client.authentication.k8s.io/v1"))
        await #expect(throws: ExecCredentialProvider.ExecError.failed(command: "false", status: 1, stderr: "")) {
            try await failing.token()
        }
    }

    final class ManualDate: Sendable {
        let current: Mutex<Date>
        init(_ date: Date) { current = Mutex(date) }
        var now: @Sendable () -> Date { { [self] in current.withLock { $0 } } }
        func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
