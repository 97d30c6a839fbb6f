import Foundation
import Synchronization

/// The one HTTP client of Forescale: every Kubernetes and AWS call goes through it.
///
/// Built on libcurl's multi interface (see `CurlMultiLoop`): safe to share between many
/// concurrent tasks, reuses connections, streams bodies as they arrive, and honours
/// `HTTPS_PROXY`/`NO_PROXY` from the environment exactly as libcurl does.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        public var tls: TLSConfiguration
        public var connectTimeout: Duration
        public var maxConnectionsPerHost: Int
        /// Explicit proxy URL; nil lets libcurl read the proxy environment variables.
        public var proxy: String?

        public init(
            tls: TLSConfiguration = TLSConfiguration(),
            connectTimeout: Duration = .seconds(10),
            maxConnectionsPerHost: Int = 32,
            proxy: String? = nil
        ) {
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.proxy = proxy
        }
    }

    public let configuration: Configuration
    private let loop: CurlMultiLoop

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        loop = CurlMultiLoop(maxConnectionsPerHost: configuration.maxConnectionsPerHost)
    }

    deinit {
        loop.stop()
    }

    /// Fails requests in flight with `TransportError.clientShutDown`; later calls fail the same way.
    public func shutdown() {
        loop.stop()
    }

    /// Sends `request` and buffers the whole response. Any status is returned; use
    /// `ensureSuccess()` to turn non-2xx into an error. Throws `TransportError`.
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let box = TransferBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let transfer = makeTransfer(request, .buffered(continuation))
                box.set(transfer)
                loop.submit(transfer)
            }
        } onCancel: {
            if let transfer = box.get() { loop.cancel(transfer) }
        }
    }

    /// Sends `request` and returns as soon as the response head has arrived; the body is
    /// delivered chunk by chunk. Stopping iteration of the body cancels the transfer.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let (body, sink) = AsyncThrowingStream<Data, Error>.makeStream()
        let box = TransferBox()
        sink.onTermination = { [loop] termination in
            if case .cancelled = termination, let transfer = box.get() { loop.cancel(transfer) }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let stream = HTTPBodyStream(chunks: body, owner: self)
                let transfer = makeTransfer(request, .streaming(head: continuation, body: stream, sink: sink))
                box.set(transfer)
                loop.submit(transfer)
            }
        } onCancel: {
            if let transfer = box.get() { loop.cancel(transfer) }
        }
    }

    private func makeTransfer(_ request: HTTPRequest, _ delivery: CurlTransfer.Delivery) -> CurlTransfer {
        CurlTransfer(
            request: request,
            tls: configuration.tls,
            connectTimeout: configuration.connectTimeout,
            proxy: configuration.proxy,
            delivery: delivery
        )
    }
}

/// Hands the transfer created inside the continuation to the cancellation handler,
/// which may run on another thread before or after it exists.
private final class TransferBox: Sendable {
    private let transfer = Mutex<CurlTransfer?>(nil)
    func set(_ value: CurlTransfer) { transfer.withLock { $0 = value } }
    func get() -> CurlTransfer? { transfer.withLock { $0 } }
}
