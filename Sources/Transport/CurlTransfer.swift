import CCurl
import Foundation

/// One request in flight on a `CurlMultiLoop`.
///
/// Thread contract: after `init`, every mutable field is read and written only on the
/// loop's thread (libcurl calls the callbacks there too), so `@unchecked Sendable` is sound.
final class CurlTransfer: @unchecked Sendable {
    enum Delivery {
        case buffered(CheckedContinuation<HTTPResponse, Error>)
        /// Waiting for the head. Holds the body stream only until the head is delivered.
        case streaming(
            head: CheckedContinuation<HTTPStreamingResponse, Error>,
            body: HTTPBodyStream,
            sink: AsyncThrowingStream<Data, Error>.Continuation
        )
        /// Head delivered: only the sink is kept, so a consumer that drops the body stream
        /// releases it, which cancels the transfer (and releases the client there, not here).
        case streamingBody(sink: AsyncThrowingStream<Data, Error>.Continuation)
    }

    let request: HTTPRequest
    let tls: TLSConfiguration
    let connectTimeout: Duration
    let proxy: String?
    private var delivery: Delivery?

    private(set) var easy: UnsafeMutableRawPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    private var status = 0
    private var headers = HTTPHeaders()
    private var isHeadComplete = false
    private var isHeadDelivered = false
    private var body = Data()
    private var headBytes = 0
    /// Why the transfer was aborted from a callback (the answer too large), reported instead of libcurl's write error.
    private var abortReason: TransportError?
    /// Header fields of one response head, at most (curl's own limit is 100 KiB per field).
    static let maxHeadBytes = 256 << 10
    private(set) var lastActivity = ContinuousClock.now
    /// Set when a cancel arrives before the transfer was added to the multi handle.
    var isCancelledBeforeStart = false
    private(set) var isCompleted = false

    init(request: HTTPRequest, tls: TLSConfiguration, connectTimeout: Duration, proxy: String?, delivery: Delivery) {
        self.request = request
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.proxy = proxy
        self.delivery = delivery
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let easy { curl_easy_cleanup(easy) }
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    /// Creates and configures the easy handle. On failure the transfer is completed with the error.
    func makeEasyHandle() throws(TransportError) -> UnsafeMutableRawPointer {
        guard let handle = curl_easy_init() else { throw .curl(code: -1, message: "curl_easy_init failed") }
        easy = handle
        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        var failures: [CURLoption] = []
        func check(_ code: CURLcode, _ option: CURLoption) { if code != CURLE_OK { failures.append(option) } }

        check(fs_easy_setopt_string(handle, CURLOPT_URL, request.url), CURLOPT_URL)
        check(fs_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1), CURLOPT_NOSIGNAL)
        // Send the path exactly as given: libcurl would otherwise squash "/./" and "/../",
        // and a signed request (SigV4 on an S3 key such as "a/./b") must arrive as signed.
        check(fs_easy_setopt_long(handle, CURLOPT_PATH_AS_IS, 1), CURLOPT_PATH_AS_IS)
        check(fs_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), CURLOPT_ERRORBUFFER)
        check(fs_easy_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1), CURLOPT_TCP_KEEPALIVE)
        check(fs_easy_set_sockets_cloexec(handle), CURLOPT_SOCKOPTFUNCTION)
        check(
            fs_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connectTimeout.milliseconds),
            CURLOPT_CONNECTTIMEOUT_MS)
        if let timeout = request.timeout {
            check(fs_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, timeout.milliseconds)), CURLOPT_TIMEOUT_MS)
        }
        if let proxy {
            check(fs_easy_setopt_string(handle, CURLOPT_PROXY, proxy), CURLOPT_PROXY)
        }
        configureMethodAndBody(handle, check)
        configureHeaders(handle, check)
        configureTLS(handle, check)

        check(fs_easy_setopt_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteCallback), CURLOPT_WRITEFUNCTION)
        check(fs_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged), CURLOPT_WRITEDATA)
        check(fs_easy_setopt_callback(handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback), CURLOPT_HEADERFUNCTION)
        check(fs_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, unmanaged), CURLOPT_HEADERDATA)

        if let first = failures.first {
            throw .invalidRequest("libcurl rejected option \(first.rawValue) for \(request.method) \(request.url)")
        }
        lastActivity = .now
        return handle
    }

    private func configureMethodAndBody(_ handle: UnsafeMutableRawPointer, _ check: (CURLcode, CURLoption) -> Void) {
        let method = request.method.uppercased()
        switch (method, request.body) {
        case ("HEAD", _):
            check(fs_easy_setopt_long(handle, CURLOPT_NOBODY, 1), CURLOPT_NOBODY)
        case ("GET", nil):
            check(fs_easy_setopt_long(handle, CURLOPT_HTTPGET, 1), CURLOPT_HTTPGET)
        case (_, let body?):
            check(
                fs_easy_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)),
                CURLOPT_POSTFIELDSIZE_LARGE)
            body.withUnsafeBytes { raw in
                // COPYPOSTFIELDS copies the bytes, so the buffer only has to live for this call.
                let pointer = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                check(
                    fs_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: pointer)),
                    CURLOPT_COPYPOSTFIELDS)
            }
            if method != "POST" {
                check(fs_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method), CURLOPT_CUSTOMREQUEST)
            }
        case (_, nil):
            check(fs_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method), CURLOPT_CUSTOMREQUEST)
        }
    }

    private func configureHeaders(_ handle: UnsafeMutableRawPointer, _ check: (CURLcode, CURLoption) -> Void) {
        var list: UnsafeMutablePointer<curl_slist>?
        for field in request.headers {
            list = curl_slist_append(list, "\(field.name): \(field.value)")
        }
        // No "Expect: 100-continue" round trip, and no form content type libcurl would invent.
        list = curl_slist_append(list, "Expect:")
        if request.body != nil && !request.headers.contains("Content-Type") {
            list = curl_slist_append(list, "Content-Type:")
        }
        headerList = list
        check(fs_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, list), CURLOPT_HTTPHEADER)
    }

    private func configureTLS(_ handle: UnsafeMutableRawPointer, _ check: (CURLcode, CURLoption) -> Void) {
        if tls.insecureSkipVerify {
            check(fs_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0), CURLOPT_SSL_VERIFYPEER)
            check(fs_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0), CURLOPT_SSL_VERIFYHOST)
        }
        switch tls.certificateAuthority {
        case .file(let path)?:
            check(fs_easy_setopt_string(handle, CURLOPT_CAINFO, path), CURLOPT_CAINFO)
            check(fs_easy_setopt_string(handle, CURLOPT_CAPATH, nil), CURLOPT_CAPATH)
        case .pem(let data)?:
            setBlob(handle, CURLOPT_CAINFO_BLOB, data, check)
            check(fs_easy_setopt_string(handle, CURLOPT_CAPATH, nil), CURLOPT_CAPATH)
        case nil:
            break
        }
        switch tls.clientCertificate {
        case .file(let path)?:
            check(fs_easy_setopt_string(handle, CURLOPT_SSLCERT, path), CURLOPT_SSLCERT)
        case .pem(let data)?:
            setBlob(handle, CURLOPT_SSLCERT_BLOB, data, check)
        case nil:
            break
        }
        if tls.clientCertificate != nil {
            check(fs_easy_setopt_string(handle, CURLOPT_SSLCERTTYPE, "PEM"), CURLOPT_SSLCERTTYPE)
        }
        switch tls.clientKey {
        case .file(let path)?:
            check(fs_easy_setopt_string(handle, CURLOPT_SSLKEY, path), CURLOPT_SSLKEY)
        case .pem(let data)?:
            setBlob(handle, CURLOPT_SSLKEY_BLOB, data, check)
        case nil:
            break
        }
        if tls.clientKey != nil {
            check(fs_easy_setopt_string(handle, CURLOPT_SSLKEYTYPE, "PEM"), CURLOPT_SSLKEYTYPE)
        }
    }

    private func setBlob(
        _ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ data: Data, _ check: (CURLcode, CURLoption) -> Void
    ) {
        data.withUnsafeBytes { raw in
            check(fs_easy_setopt_blob(handle, option, raw.baseAddress, raw.count), option)
        }
    }

    // MARK: Callbacks (loop thread)

    /// False aborts the transfer.
    fileprivate func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        lastActivity = .now
        headBytes += bytes.count
        guard headBytes <= Self.maxHeadBytes else {
            abortReason = .headTooLarge(limit: Self.maxHeadBytes)
            return false
        }
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            // A new status line: a previous 1xx block (or a proxy's CONNECT reply) is discarded.
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = HTTPHeaders()
            isHeadComplete = false
            headBytes = bytes.count
            return true
        }
        let trimmed = line.trimmingHTTPWhitespace
        if trimmed.isEmpty {
            if status >= 200 {
                isHeadComplete = true
                // A declared length over the cap is refused before a byte of the body is read.
                // (A HEAD answer and a 304 declare the length of a body they do not carry.)
                if case .buffered? = delivery, request.method.uppercased() != "HEAD", status != 304, status != 204,
                    let declared = headers["Content-Length"].flatMap({ Int64($0) }),
                    declared > Int64(request.maxResponseBytes)
                {
                    abortReason = .responseTooLarge(limit: request.maxResponseBytes)
                    return false
                }
                deliverHeadIfStreaming()
            }
            return true
        }
        guard let colon = trimmed.firstIndex(of: ":") else { return true }
        let name = String(trimmed[..<colon])
        let value = trimmed[trimmed.index(after: colon)...].trimmingHTTPWhitespace
        headers.add(name, value)
        return true
    }

    /// False aborts the transfer.
    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        lastActivity = .now
        switch delivery {
        case .buffered?:
            guard bytes.count <= request.maxResponseBytes - body.count else {
                abortReason = .responseTooLarge(limit: request.maxResponseBytes)
                body = Data()
                return false
            }
            body.append(contentsOf: bytes)
        case .streaming?:
            deliverHeadIfStreaming()
            if case .streamingBody(let sink)? = delivery { sink.yield(Data(bytes)) }
        case .streamingBody(let sink)?:
            sink.yield(Data(bytes))
        case nil:
            break
        }
        return true
    }

    private func deliverHeadIfStreaming() {
        guard !isHeadDelivered, case .streaming(let head, let stream, let sink)? = delivery else { return }
        isHeadDelivered = true
        delivery = .streamingBody(sink: sink)
        head.resume(returning: HTTPStreamingResponse(status: status, headers: headers, body: stream))
    }

    /// Finishes the transfer exactly once, with the libcurl result or a loop-imposed error.
    func complete(_ error: TransportError?) {
        guard !isCompleted else { return }
        isCompleted = true
        let delivery = self.delivery
        self.delivery = nil
        switch delivery {
        case .buffered(let continuation)?:
            if let error {
                continuation.resume(throwing: error)
            } else {
                continuation.resume(returning: HTTPResponse(status: status, headers: headers, body: body))
            }
        case .streaming(let head, let stream, let sink)?:
            if !isHeadDelivered {
                isHeadDelivered = true
                if let error {
                    head.resume(throwing: error)
                } else {
                    head.resume(returning: HTTPStreamingResponse(status: status, headers: headers, body: stream))
                }
            }
            if let error { sink.finish(throwing: error) } else { sink.finish() }
        case .streamingBody(let sink)?:
            if let error { sink.finish(throwing: error) } else { sink.finish() }
        case nil:
            break
        }
    }

    /// Maps a libcurl result code to a typed error; nil for CURLE_OK.
    func error(for code: CURLcode) -> TransportError? {
        if code == CURLE_OK { return nil }
        if let abortReason { return abortReason }
        let detail =
            String(cString: errorBuffer).isEmpty
            ? String(cString: curl_easy_strerror(code)) : String(cString: errorBuffer)
        switch code {
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .invalidRequest(detail)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .dnsFailed(detail)
        case CURLE_COULDNT_CONNECT:
            return .connectFailed(detail)
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(detail)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_CRL_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            return .tlsFailed(detail)
        case CURLE_SEND_ERROR, CURLE_ABORTED_BY_CALLBACK:
            return .sendFailed(detail)
        case CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
            return .receiveFailed(detail)
        default:
            return .curl(code: Int(code.rawValue), message: detail)
        }
    }
}

private let curlWriteCallback: fs_curl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.receiveBody(UnsafeRawBufferPointer(start: buffer, count: length)) ? length : 0
}

private let curlHeaderCallback: fs_curl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: buffer, count: length)) ? length : 0
}

extension Duration {
    /// Whole milliseconds, saturating, for libcurl's `long` millisecond options.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        let total = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return Int(min(total, Double(Int32.max)))
    }
}
