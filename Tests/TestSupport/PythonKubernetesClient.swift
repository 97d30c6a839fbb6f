import Foundation

/// The official Python `kubernetes` client in a virtualenv under `.build/test-venvs`
/// (created on first use with `python3 -m venv` + `pip install`, then reused).
public enum PythonKubernetesClient {
    public static let version = "37.0.2"

    public enum Unavailable: Error, CustomStringConvertible {
        case installFailed(String)
        public var description: String {
            switch self {
            case .installFailed(let detail):
                return "cannot install kubernetes==\(PythonKubernetesClient.version) from PyPI: \(detail)"
            }
        }
    }

    /// The venv's python, installing the client if needed.
    public static func python() async throws -> String {
        let directory = Fixtures.root.appendingPathComponent(".build/test-venvs/python-kubernetes-\(version)").path
        let python = directory + "/bin/python"
        let marker = directory + "/.installed"
        if FileManager.default.fileExists(atPath: marker) { return python }
        let script =
            "rm -rf '\(directory)' && python3 -m venv '\(directory)' && '\(python)' -m pip install -q --disable-pip-version-check kubernetes==\(version) && touch '\(marker)'"
        let result = try await Subprocess.run("sh", ["-c", script])
        guard result.status == 0 else { throw Unavailable.installFailed(result.stderr.suffix(800).description) }
        return python
    }
}
