import Digest

/// HMAC-SHA256 (RFC 2104), checked against RFC 4231's test cases.
public enum HMACSHA256 {
    public static func authenticationCode<Key: Collection, Message: Collection>(key: Key, message: Message) -> [UInt8]
    where Key.Element == UInt8, Message.Element == UInt8 {
        var block = key.count > SHA256.blockSize ? SHA256.hash(key) : Array(key)
        block += [UInt8](repeating: 0, count: SHA256.blockSize - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        let innerDigest = inner.finalize()
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(innerDigest)
        return outer.finalize()
    }

    public static func authenticationCode<Key: Collection>(key: Key, message: String) -> [UInt8]
    where Key.Element == UInt8 {
        authenticationCode(key: key, message: Array(message.utf8))
    }
}
