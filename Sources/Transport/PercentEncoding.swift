/// RFC 3986 percent-encoding of a string's UTF-8 bytes over ASCII-only allowed sets, for URL
/// paths and query values. (Foundation's `CharacterSet` sets are Unicode-wide — `.alphanumerics`
/// would leave "é" unencoded — and building one per request allocated on every call.)
public enum PercentEncoding {
    /// Unreserved: A–Z a–z 0–9 - . _ ~ — what a query value keeps.
    public static let unreserved = allowed("-._~")
    /// A path segment's characters (pchar): unreserved, sub-delimiters, ":" and "@" — never "/".
    public static let pathSegment = allowed("-._~!$&'()*+,;=:@")

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// A 128-entry table: true for the ASCII letters, digits and `extra`.
    public static func allowed(_ extra: String) -> [Bool] {
        var table = [Bool](repeating: false, count: 128)
        for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
        for byte in extra.utf8 where byte < 128 { table[Int(byte)] = true }
        return table
    }

    /// Every byte not in `allowed` as %XX (upper-case hex).
    public static func encode(_ text: String, keeping allowed: [Bool]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte < 128, allowed[Int(byte)] {
                bytes.append(byte)
            } else {
                bytes.append(contentsOf: [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
