import Foundation
import Transport

/// The controller's HTTP endpoint: Prometheus `/metrics`, `/healthz` (alive), `/readyz`
/// (the informer has synced).
public final class ControllerEndpoint: Sendable {
    private let server: HTTPServer
    public let port: Int

    private init(server: HTTPServer, port: Int) {
        self.server = server
        self.port = port
    }

    public static func start(controller: Controller, address: String, port: Int) throws -> ControllerEndpoint {
        var router = Router()
        router.add("GET", "/metrics") { _, writer in
            writer.respond(status: 200, contentType: "text/plain; version=0.0.4", body: controller.metrics.exposition())
        }
        router.add("GET", "/healthz") { _, writer in
            writer.respond(status: 200, contentType: "text/plain", body: "ok")
        }
        router.add("GET", "/readyz") { _, writer in
            let ready = controller.informer.hasSynced
            writer.respond(status: ready ? 200 : 503, contentType: "text/plain", body: ready ? "ok" : "informer not synced")
        }
        let server = HTTPServer(configuration: .init(address: address, port: port), handler: router.handler)
        let bound = try server.start()
        return ControllerEndpoint(server: server, port: bound)
    }

    public func shutdown() { server.shutdown(gracePeriod: .milliseconds(500)) }
}
