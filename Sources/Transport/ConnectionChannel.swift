import CTLS
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An accepted connection's byte stream: the socket itself, or a TLS session over it.
/// Used from the connection's thread (and from a handler's writer, serialised by its lock);
/// shutdown by the server only touches the socket.
final class ConnectionChannel: @unchecked Sendable {
    let fd: Int32
    private var session: OpaquePointer?

    /// Plain: the socket as is. TLS: runs the handshake first (bounded by the socket's
    /// timeouts); nil if it fails.
    init?(fd: Int32, tls: ServerTLS?, handshakeTimeout: Duration) {
        self.fd = fd
        guard let tls else {
            session = nil
            return
        }
        Socket.setReceiveTimeout(fd, handshakeTimeout)
        guard let session = fs_tls_accept(tls.context, fd) else { return nil }
        // Reads afterwards wait in poll with their own deadlines; a read that blocks inside
        // a partial TLS record is bounded by this.
        Socket.setReceiveTimeout(fd, .seconds(30))
        self.session = session
    }

    var isTLS: Bool { session != nil }

    /// Bytes already decrypted and waiting (readable without the socket).
    var hasPendingInput: Bool { session.map { fs_tls_pending($0) > 0 } ?? false }

    func waitReadable(until deadline: ContinuousClock.Instant) -> Bool {
        hasPendingInput || Socket.waitReadable(fd, until: deadline)
    }

    /// Like recv: > 0 bytes, 0 at end of stream, < 0 on error.
    func receive(_ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        guard let session else { return recv(fd, buffer, count, 0) }
        return Int(fs_tls_read(session, buffer, Int32(clamping: count)))
    }

    func sendAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let session else { return Socket.sendAll(fd, bytes) }
        guard bytes.count > 0 else { return true }
        return fs_tls_write(session, bytes.baseAddress!, Int32(clamping: bytes.count)) == 1
    }

    func sendAll(_ data: Data) -> Bool {
        data.withUnsafeBytes { sendAll($0) }
    }

    var peerHasClosed: Bool { Socket.peerHasClosed(fd) }

    /// After an error response: close_notify, then discard what the peer still sends.
    func lingeringClose() {
        release()
        Socket.lingeringClose(fd)
    }

    /// An abortive close: SO_LINGER 0 makes the kernel send RST; the socket is shut down
    /// (the connection's thread closes the descriptor as usual).
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Frees the TLS session once (the caller closes the socket).
    func release() {
        if let session { fs_tls_close(session) }
        session = nil
    }
}
