import FileIO
import Foundation
import Transport

/// The server's self-signed certificate: generated once and kept in the data directory
/// (`tls.crt`, `tls.key` mode 0600) so kubeconfigs stay valid across restarts.
enum ServingCertificate {
    static func load(dataDirectory: String?, address: String) throws(APIServer.StartError) -> ServerTLS {
        var names = ["IP:127.0.0.1", "IP:::1", "DNS:localhost"]
        if !APIServer.isLoopback(address), address != "0.0.0.0", address != "::" {
            names.append(
                address.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? "IP:\(address)" : "DNS:\(address)")
        }
        let certificatePath = dataDirectory.map { $0 + "/tls.crt" }
        let keyPath = dataDirectory.map { $0 + "/tls.key" }
        do throws(ServerTLS.TLSError) {
            if let certificatePath, let keyPath,
                let certificate = FileManager.default.contents(atPath: certificatePath),
                let key = FileManager.default.contents(atPath: keyPath)
            {
                return try ServerTLS(
                    certificatePEM: String(decoding: certificate, as: UTF8.self),
                    keyPEM: String(decoding: key, as: UTF8.self))
            }
            let generated = try ServerTLS.selfSigned(
                commonName: "forescale-apiserver", subjectAlternativeNames: names.joined(separator: ","), days: 3650)
            if let dataDirectory, let certificatePath, let keyPath {
                do {
                    try AtomicFile.createPrivateDirectory(dataDirectory)
                    try AtomicFile.write(Data(generated.keyPEM.utf8), to: keyPath, mode: AtomicFile.secretMode)
                    try AtomicFile.write(Data(generated.certificatePEM.utf8), to: certificatePath)
                } catch {
                    throw ServerTLS.TLSError(
                        description: "cannot write the serving certificate into \(dataDirectory): \(error)")
                }
            }
            return try ServerTLS(certificatePEM: generated.certificatePEM, keyPEM: generated.keyPEM)
        } catch {
            throw .storage("serving certificate: \(error)")
        }
    }
}
