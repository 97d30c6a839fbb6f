import Foundation

/// Runs the built `forescale` executable (end-to-end tests).
public enum ForescaleBinary {
    public struct NotBuilt: Error, CustomStringConvertible {
        public init() {}
        public var description: String {
            "no built forescale executable under .build: run 'make test' (it builds first)"
        }
    }

    public static func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> CommandResult {
        guard let binary = Fixtures.executable("forescale") else { throw NotBuilt() }
        return try await Subprocess.run(binary, arguments, environment: environment)
    }

    /// Starts the executable without waiting for it.
    public static func start(_ arguments: [String], environment: [String: String]? = nil) throws -> BackgroundProcess {
        guard let binary = Fixtures.executable("forescale") else { throw NotBuilt() }
        return try BackgroundProcess(binary, arguments, environment: environment)
    }
}

extension ForescaleBinary {
    /// `forescale apiserver` with its data and kubeconfig in `directory`, as the README's local path starts it.
    public static func startAPIServer(in directory: TemporaryDirectory) async throws -> (
        server: PeerProcess, kubeconfig: String
    ) {
        guard let binary = Fixtures.executable("forescale") else { throw NotBuilt() }
        let kubeconfig = directory.file("kubeconfig")
        let server = try await PeerProcess.start(
            binary, ["apiserver", "--data-dir", directory.file("data"), "--kubeconfig-out", kubeconfig]
        ) { line in line.range(of: "(port ").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) } }
        return (server, kubeconfig)
    }
}
