import Foundation

/// One HTTP request made by `HTTPClient`.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: Data?
    /// Whole-transfer deadline (connect + send + receive). Nil: no limit (watches).
    public var timeout: Duration?
    /// Fails the transfer when no byte arrives for this long (long-running watches).
    public var idleTimeout: Duration?
    /// The most body bytes a buffered response may have: a larger one (by its Content-Length, or as it
    /// arrives) fails with `TransportError.responseTooLarge` and the transfer is aborted, so no answer
    /// can take the process past its memory. Each use sets what is normal for it; streamed bodies
    /// (watches) are bounded by their reader instead.
    public var maxResponseBytes: Int

    /// What a buffered response may hold unless its use says otherwise (16 MiB).
    public static let defaultMaxResponseBytes = 16 << 20

    public init(
        method: String = "GET",
        url: String,
        headers: HTTPHeaders = [:],
        body: Data? = nil,
        timeout: Duration? = .seconds(30),
        idleTimeout: Duration? = nil,
        maxResponseBytes: Int = HTTPRequest.defaultMaxResponseBytes
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.idleTimeout = idleTimeout
        self.maxResponseBytes = maxResponseBytes
    }
}

/// The status line and header fields of a response (the last one, after any 1xx).
public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
}

/// A fully buffered response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Data

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// Returns self for a 2xx status; otherwise throws `TransportError.httpStatus` carrying the body.
    @discardableResult
    public func ensureSuccess() throws(TransportError) -> HTTPResponse {
        guard isSuccess else { throw .httpStatus(status, headers: headers, body: body) }
        return self
    }
}

/// A response whose body arrives incrementally, chunk by chunk as the bytes are received.
public struct HTTPStreamingResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    /// Ends when the server finishes the body; throws `TransportError` on failure.
    public var body: HTTPBodyStream
}

/// The chunks of a streamed body. Holds the client that carries the transfer, so the
/// stream keeps working after the caller drops its own reference to the client.
public struct HTTPBodyStream: AsyncSequence, Sendable {
    public typealias Element = Data
    let chunks: AsyncThrowingStream<Data, Error>
    let owner: (any AnyObject & Sendable)?

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: chunks.makeAsyncIterator(), owner: owner)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<Data, Error>.AsyncIterator
        let owner: (any AnyObject & Sendable)?

        public mutating func next() async throws -> Data? {
            try await base.next()
        }
    }

    /// Collects the whole body.
    public func collect() async throws -> Data {
        var data = Data()
        for try await chunk in self { data.append(chunk) }
        return data
    }
}
