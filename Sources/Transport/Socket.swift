import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Thin wrappers over POSIX stream sockets, used only by `HTTPServer`.
enum Socket {
    /// POLLRDHUP (Linux, <poll.h> under _GNU_SOURCE, which Swift does not define).
    private static let pollReadHangUp: Int16 = 0x2000

    struct Failure: Error, CustomStringConvertible {
        let operation: String
        let code: Int32
        var description: String { "\(operation) failed: \(String(cString: strerror(code)))" }
    }

    /// Binds and listens on an IPv4 or IPv6 literal address; port 0 picks an ephemeral port.
    static func listen(address: String, port: Int, backlog: Int32) throws(Failure) -> (fd: Int32, port: Int) {
        let isIPv6 = address.contains(":")
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(operation: "socket", code: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        if isIPv6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, address, &addr.sin6_addr) == 1 else {
                close(fd)
                throw Failure(operation: "parse address \(address)", code: EINVAL)
            }
            bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else {
                close(fd)
                throw Failure(operation: "parse address \(address)", code: EINVAL)
            }
            bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw Failure(operation: "bind \(address):\(port)", code: code)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            throw Failure(operation: "listen", code: code)
        }
        return (fd, boundPort(fd))
    }

    static func boundPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return peerPort(storage)
    }

    static func peerPort(_ storage: sockaddr_storage) -> Int {
        var copy = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
        default:
            return 0
        }
    }

    /// "host:port" of a peer address.
    static func describe(_ storage: sockaddr_storage) -> String {
        var copy = storage
        var host = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    var address = $0.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &address, &host, socklen_t(host.count))
                }
            }
        case AF_INET6:
            withUnsafePointer(to: &copy) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    var address = $0.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &address, &host, socklen_t(host.count))
                }
            }
        default:
            break
        }
        let text = host.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return "\(text):\(peerPort(storage))"
    }

    /// Accepts one connection; nil when the listening socket was shut down.
    static func accept(_ fd: Int32) -> (fd: Int32, peer: String)? {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &length) }
            }
            if client >= 0 {
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                return (client, describe(storage))
            }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO: continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                usleep(10_000)
                continue
            default: return nil
            }
        }
    }

    /// Waits until `fd` is readable or `deadline` passes. False on timeout.
    static func waitReadable(_ fd: Int32, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let remaining = deadline - .now
            if remaining <= .zero { return false }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let result = poll(&descriptor, 1, Int32(min(remaining.milliseconds + 1, 60_000)))
            if result > 0 { return true }
            if result < 0 && errno != EINTR { return true }
        }
    }

    /// True when the peer has closed or reset the connection (used by long streams).
    static func peerHasClosed(_ fd: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN) | pollReadHangUp, revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return false }
        let events = Int32(descriptor.revents)
        if events & (Int32(pollReadHangUp) | Int32(POLLHUP) | Int32(POLLERR)) != 0 { return true }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 0
    }

    /// Sends all of `bytes`; false if the peer is gone or the send timed out.
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent > 0 {
                offset += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// Half-closes and discards what the peer is still sending, so an error response (a 413
    /// for a body too large, say) is not destroyed by a reset while the client is still
    /// sending: as nginx's lingering close, until the peer closes, 2 s pass without a byte,
    /// 10 s in all, or 16 MiB were discarded. (It was 1 s and 1 MiB: a 4 MiB body from a
    /// client slowed by a loaded machine met a reset and never saw its 413.)
    static func lingeringClose(_ fd: Int32) {
        Glibc.shutdown(fd, Int32(SHUT_WR))
        let end = ContinuousClock.now + .seconds(10)
        var discarded = 0
        var scratch = [UInt8](repeating: 0, count: 65_536)
        while discarded < 16 << 20, waitReadable(fd, until: min(end, ContinuousClock.now + .seconds(2))) {
            let count = recv(fd, &scratch, scratch.count, 0)
            if count <= 0 { return }
            discarded += count
        }
    }

    static func setSendTimeout(_ fd: Int32, _ duration: Duration) {
        let milliseconds = duration.milliseconds
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func setReceiveTimeout(_ fd: Int32, _ duration: Duration) {
        let milliseconds = duration.milliseconds
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}
