import CTLS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// TLS for `HTTPServer` (OpenSSL): each accepted connection is handshaken on its own relay
/// thread and its plaintext handed to the HTTP machinery through a socketpair, so the HTTP
/// code is identical with and without TLS.
public final class ServerTLS: @unchecked Sendable {
    public struct TLSError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Immutable after init; OpenSSL's SSL_CTX is safe to share between threads.
    let context: OpaquePointer

    public let certificatePEM: String

    public init(certificatePEM: String, keyPEM: String) throws(TLSError) {
        var message = [CChar](repeating: 0, count: 512)
        guard let context = fs_tls_server_new(certificatePEM, keyPEM, &message, message.count) else {
            throw TLSError(description: Self.text(message))
        }
        self.context = context
        self.certificatePEM = certificatePEM
    }

    private static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        fs_tls_server_free(context)
    }

    /// A new P-256 key and self-signed certificate that clients trust as its own CA.
    /// `subjectAlternativeNames` as OpenSSL writes them: "IP:127.0.0.1,DNS:localhost".
    public static func selfSigned(commonName: String, subjectAlternativeNames: String, days: Int = 365) throws(TLSError) -> (certificatePEM: String, keyPEM: String) {
        var certificate: UnsafeMutablePointer<CChar>?
        var key: UnsafeMutablePointer<CChar>?
        var message = [CChar](repeating: 0, count: 512)
        guard fs_tls_self_signed(commonName, subjectAlternativeNames, Int32(days), &certificate, &key, &message, message.count) == 0,
              let certificate, let key else {
            throw TLSError(description: Self.text(message))
        }
        defer {
            free(certificate)
            free(key)
        }
        return (String(cString: certificate), String(cString: key))
    }

    /// Starts the relay for an accepted connection; returns the plaintext descriptor the
    /// HTTP server reads and writes, or nil if no socketpair could be made.
    func startRelay(clientFD: Int32, handshakeTimeout: Duration) -> Int32? {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { return nil }
        let milliseconds = Int32(clamping: handshakeTimeout.components.seconds * 1000)
        let relayFD = pair[0]
        let thread = Thread { [self] in
            fs_tls_relay(context, clientFD, relayFD, milliseconds)
            withExtendedLifetime(self) {}
        }
        thread.name = "forescale.tls.relay"
        thread.start()
        return pair[1]
    }
}
