import Foundation

extension APIServer {
    /// A kubeconfig (YAML) that points kubectl and clients at this server with its token.
    public func kubeconfig(contextName: String = "forescale-embedded") -> String {
        Self.kubeconfig(
            server: baseURL, certificatePEM: certificatePEM, token: configuration.token, contextName: contextName)
    }

    public static func kubeconfig(server: String, certificatePEM: String?, token: String, contextName: String) -> String
    {
        let authority =
            certificatePEM.map { "\n    certificate-authority-data: \(Data($0.utf8).base64EncodedString())" } ?? ""
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: \(contextName)
              cluster:
                server: \(server)\(authority)
            users:
            - name: \(contextName)
              user:
                token: \(token)
            contexts:
            - name: \(contextName)
              context:
                cluster: \(contextName)
                user: \(contextName)
                namespace: default
            current-context: \(contextName)

            """
    }

    /// Loopback addresses need no explicit token (one is generated); others do.
    public static func isLoopback(_ address: String) -> Bool {
        address == "localhost" || address == "::1" || address.hasPrefix("127.")
    }

    /// 32 random bytes, hex.
    public static func generateToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
