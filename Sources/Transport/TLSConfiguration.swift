import Foundation

/// PEM material given either as a path or in memory (kubeconfig `*-data` fields).
public enum PEMSource: Sendable, Equatable {
    case file(String)
    case pem(Data)
}

/// Trust and identity for HTTPS. The default verifies peers against the system CA store.
public struct TLSConfiguration: Sendable, Equatable {
    /// Trusted CA bundle; nil means the system store.
    public var certificateAuthority: PEMSource?
    /// Client certificate and key for mutual TLS.
    public var clientCertificate: PEMSource?
    public var clientKey: PEMSource?
    /// Skips peer and host-name verification (kubeconfig `insecure-skip-tls-verify`).
    public var insecureSkipVerify: Bool

    public init(
        certificateAuthority: PEMSource? = nil,
        clientCertificate: PEMSource? = nil,
        clientKey: PEMSource? = nil,
        insecureSkipVerify: Bool = false
    ) {
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.insecureSkipVerify = insecureSkipVerify
    }
}
