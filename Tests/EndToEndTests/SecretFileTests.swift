import Foundation
import TestSupport
import Testing

/// Files that hold secrets — the API server's state (Secrets included), its TLS key, the
/// kubeconfig with its bearer token — are owner-only from the first byte, even under a
/// permissive umask, and their directories are private.
@Suite struct SecretFileTests {
    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
    }

    @Test func apiServerStateKeyAndKubeconfigAreOwnerOnly() async throws {
        guard let binary = Fixtures.executable("forescale") else { throw ForescaleBinary.NotBuilt() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.file("state")
        let kubeconfig = directory.file("kubeconfig")
        // umask 000: nothing but the modes the code asks for protects these files.
        let server = try BackgroundProcess(
            "sh",
            [
                "-c", "umask 000; exec \"$0\" apiserver --data-dir \"$1\" --kubeconfig-out \"$2\"", binary, data,
                kubeconfig,
            ])
        _ = try await eventually(every: .milliseconds(50)) { FileManager.default.fileExists(atPath: kubeconfig) }
        let result = await server.kill9()
        #expect(FileManager.default.fileExists(atPath: kubeconfig), "\(result.stderr)")
        #expect(Self.mode(kubeconfig) == 0o600, "kubeconfig \(String(Self.mode(kubeconfig), radix: 8))")
        #expect(Self.mode(data) == 0o700, "data directory \(String(Self.mode(data), radix: 8))")
        for file in ["snapshot.jsonl", "wal.jsonl", "tls.key"] {
            let path = data + "/" + file
            #expect(Self.mode(path) == 0o600, "\(file) \(String(Self.mode(path), radix: 8))")
        }
        #expect(Self.mode(data + "/tls.crt") & 0o022 == 0, "the certificate is public but not writable by others")
    }

    @Test func theDemoDirectoryIsUnpredictableAndPrivate() async throws {
        let result = try await ForescaleBinary.run(["demo", "--duration", "1", "--dashboard-port", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        guard let line = result.stdout.split(separator: "\n").first(where: { $0.contains("state kept in ") }),
            let range = line.range(of: "state kept in ")
        else {
            Issue.record("no directory in \(result.stdout)")
            return
        }
        let path = String(line[range.upperBound...])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(!path.hasSuffix("-\(getpid())"), "not named by a process id")
        #expect(Self.mode(path) == 0o700)
        #expect(Self.mode(path + "/kubeconfig") == 0o600)
    }
}
