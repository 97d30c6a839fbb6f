import CTLS
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// TLS for `HTTPServer` (OpenSSL): a certificate and key shared by every connection; each
/// connection's thread runs its own handshake and session (`ConnectionChannel`).
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
        // OpenSSL writes with write(2), which raises SIGPIPE when a client has gone; a server
        // must see EPIPE instead (plain sockets use send with MSG_NOSIGNAL).
        signal(SIGPIPE, SIG_IGN)
    }

    private static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        fs_tls_server_free(context)
    }

    /// A new P-256 key and self-signed certificate that clients trust as its own CA.
    /// `subjectAlternativeNames` as OpenSSL writes them: "IP:127.0.0.1,DNS:localhost".
    public static func selfSigned(commonName: String, subjectAlternativeNames: String, days: Int = 365) throws(TLSError)
        -> (certificatePEM: String, keyPEM: String)
    {
        var certificate: UnsafeMutablePointer<CChar>?
        var key: UnsafeMutablePointer<CChar>?
        var message = [CChar](repeating: 0, count: 512)
        guard
            fs_tls_self_signed(
                commonName, subjectAlternativeNames, Int32(days), &certificate, &key, &message, message.count) == 0,
            let certificate, let key
        else {
            throw TLSError(description: Self.text(message))
        }
        defer {
            free(certificate)
            free(key)
        }
        return (String(cString: certificate), String(cString: key))
    }
}
