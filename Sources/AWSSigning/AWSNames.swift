/// The published grammars of AWS names that become parts of a host name or a path. A tenant's string is
/// checked against them before it is put in a URL: a bucket name is the first label of an S3 host, a region
/// is part of every service endpoint.
public enum AWSNames {
    /// A region in one of the AWS partitions: `us-east-2`, `eu-central-1`, `us-gov-west-1`, `cn-north-1`,
    /// `us-iso-east-1`, `us-isob-east-1`, `eusc-de-east-1` — lowercase letters in two to four dash-separated
    /// words, then a one- or two-digit number; 30 bytes at most.
    /// (botocore's endpoints.json: partitions' `regionRegex`.)
    public static func isRegion(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (5...30).contains(bytes.count) else { return false }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (3...5).contains(parts.count), let number = parts.last,
            (1...2).contains(number.count), number.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return false }
        return parts.dropLast().allSatisfy { word in
            (2...10).contains(word.count) && word.allSatisfy { ("a"..."z").contains($0) }
        }
    }

    /// A general-purpose S3 bucket name (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
    /// 3–63 characters of lowercase letters, digits, dots and hyphens; starts and ends with a letter or digit;
    /// no two adjacent dots, no dot next to a hyphen; not shaped like an IPv4 address; none of the reserved
    /// prefixes (`xn--`, `sthree-`, `amzn-s3-demo-`) or suffixes (`-s3alias`, `--ol-s3`, `.mrap`, `--x-s3`,
    /// `--table-s3`).
    public static func isBucketName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!) else { return false }
        for (index, byte) in bytes.enumerated() {
            guard isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") else { return false }
            if byte == UInt8(ascii: "."), index > 0,
                bytes[index - 1] == UInt8(ascii: ".") || bytes[index - 1] == UInt8(ascii: "-")
            {
                return false
            }
            if byte == UInt8(ascii: "-"), index > 0, bytes[index - 1] == UInt8(ascii: ".") { return false }
        }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count == 4, labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) {
            return false
        }
        let reservedPrefixes = ["xn--", "sthree-", "amzn-s3-demo-"]
        let reservedSuffixes = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
        return !reservedPrefixes.contains(where: text.hasPrefix) && !reservedSuffixes.contains(where: text.hasSuffix)
    }

    /// An S3 object key as Forescale writes and reads them: 1–1,024 bytes of UTF-8 without control
    /// characters, no empty, `.` or `..` path segment (a key is never a path that climbs).
    public static func isObjectKey(_ text: String) -> Bool {
        guard (1...1024).contains(text.utf8.count),
            !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
        else { return false }
        return !text.split(separator: "/", omittingEmptySubsequences: false).contains {
            $0.isEmpty || $0 == "." || $0 == ".."
        }
    }
}
