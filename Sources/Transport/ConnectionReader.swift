import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Buffered, deadline-bounded reads from one client socket. Bytes read past the end of
/// one request stay buffered for the next (pipelining).
struct ConnectionReader {
    enum Failure: Error, Equatable {
        /// The peer closed the connection before sending anything more.
        case closed
        /// The peer closed or reset the connection in the middle of a message.
        case truncated
        case timedOut
        case tooLarge
        case malformed(String)
    }

    let channel: ConnectionChannel
    private var buffer: [UInt8] = []
    private var start = 0
    private var scratch = [UInt8](repeating: 0, count: 16_384)

    init(channel: ConnectionChannel) {
        self.channel = channel
    }

    var hasBufferedBytes: Bool { start < buffer.count }

    /// Reads more bytes into the buffer. Throws `.closed`/`.truncated` at end of stream.
    private mutating func fill(until deadline: ContinuousClock.Instant) throws(Failure) {
        guard channel.waitReadable(until: deadline) else { throw .timedOut }
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 65_536 {
            buffer.removeFirst(start)
            start = 0
        }
        let received = scratch.withUnsafeMutableBytes { raw in
            channel.receive(raw.baseAddress!, raw.count)
        }
        if received > 0 {
            // A bulk copy (appending a repeated-zero sequence first was element by element).
            buffer.append(contentsOf: scratch[0..<received])
            return
        }
        if received == 0 { throw hasBufferedBytes ? .truncated : .closed }
        if errno == EINTR || errno == EAGAIN { return }
        throw hasBufferedBytes ? .truncated : .closed
    }

    /// Returns the bytes of the request head, up to but excluding the CRLFCRLF that ends it.
    mutating func readHead(maxBytes: Int, until deadline: ContinuousClock.Instant) throws(Failure) -> ArraySlice<UInt8>
    {
        // Offsets are kept relative to `start`: `fill` may compact the buffer.
        var scanned = 0
        while true {
            if let end = findHeadEnd(from: start + scanned) {
                guard end - start <= maxBytes else { throw .tooLarge }
                let head = buffer[start..<end]
                start = end + 4
                return head
            }
            if buffer.count - start > maxBytes { throw .tooLarge }
            scanned = max(0, buffer.count - start - 3)
            try fill(until: deadline)
        }
    }

    private func findHeadEnd(from offset: Int) -> Int? {
        guard buffer.count - offset >= 4 else { return nil }
        var index = offset
        let last = buffer.count - 4
        while index <= last {
            if buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
                return index
            }
            index += 1
        }
        return nil
    }

    /// Reads exactly `count` bytes.
    mutating func readExact(_ count: Int, until deadline: ContinuousClock.Instant) throws(Failure) -> [UInt8] {
        while buffer.count - start < count {
            do { try fill(until: deadline) } catch .closed { throw .truncated }
        }
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    mutating func readLine(maxBytes: Int, until deadline: ContinuousClock.Instant) throws(Failure) -> String {
        var scanned = 0
        while true {
            var index = start + scanned
            while index + 1 < buffer.count {
                if buffer[index] == 13 && buffer[index + 1] == 10 {
                    let line = String(decoding: buffer[start..<index], as: UTF8.self)
                    start = index + 2
                    return line
                }
                index += 1
            }
            if buffer.count - start > maxBytes { throw .malformed("line too long") }
            scanned = max(0, buffer.count - start - 1)
            do { try fill(until: deadline) } catch .closed { throw .truncated }
        }
    }

    /// Reads a chunked body (RFC 9112 §7.1), discarding extensions and trailers.
    mutating func readChunkedBody(maxBytes: Int, until deadline: ContinuousClock.Instant) throws(Failure) -> Data {
        var body = Data()
        while true {
            let line = try readLine(maxBytes: 1024, until: deadline)
            let sizeText = line.prefix { $0 != ";" }.trimmingHTTPWhitespace
            guard !sizeText.isEmpty, sizeText.count <= 15, let size = Int(sizeText, radix: 16), size >= 0 else {
                throw .malformed("bad chunk size")
            }
            if size == 0 { break }
            guard body.count + size <= maxBytes else { throw .tooLarge }
            body.append(contentsOf: try readExact(size, until: deadline))
            guard try readExact(2, until: deadline) == [13, 10] else { throw .malformed("chunk not followed by CRLF") }
        }
        var trailerBytes = 0
        while true {
            let trailer = try readLine(maxBytes: 8192, until: deadline)
            if trailer.isEmpty { return body }
            trailerBytes += trailer.utf8.count
            if trailerBytes > 16_384 { throw .tooLarge }
        }
    }
}
