import Digest
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// AWS Signature Version 4, stage by stage
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
/// canonical request → string to sign → signing key → signature → Authorization header.
/// Pure: the signing time is passed in.
public struct SigV4Signer: Sendable {
    public var service: String
    public var region: String
    /// Non-S3 services: remove dot segments and repeated slashes from the path.
    /// S3 signs the path exactly as sent (set false).
    public var normalizesPath: Bool
    /// Add and sign `x-amz-content-sha256` (required by S3).
    public var signsPayloadHash: Bool
    /// Add `X-Amz-Security-Token` after signing instead of signing it (a few services).
    public var omitsSessionTokenFromSignature: Bool

    public init(
        service: String, region: String, normalizesPath: Bool = true, signsPayloadHash: Bool = false,
        omitsSessionTokenFromSignature: Bool = false
    ) {
        self.service = service
        self.region = region
        self.normalizesPath = normalizesPath
        self.signsPayloadHash = signsPayloadHash
        self.omitsSessionTokenFromSignature = omitsSessionTokenFromSignature
    }

    /// A request to sign. `path` and the query items are not percent-encoded.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public init(
            method: String, path: String, query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)], body: [UInt8] = []
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    // MARK: Task 1: canonical request

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        // gmtime_r rather than a DateFormatter built per call (this runs several times for
        // every signed request).
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// The headers that will be signed for `request` at `date`: the request's own plus
    /// X-Amz-Date, the payload hash (S3) and the session token (unless omitted).
    public func headersToSign(_ request: Request, date: Date, credentials: AWSCredentials) -> [(
        name: String, value: String
    )] {
        var headers = request.headers
        let names = Set(headers.map { $0.name.lowercased() })
        if !names.contains("x-amz-date") { headers.append((name: "X-Amz-Date", value: Self.amzDate(date))) }
        if signsPayloadHash && !names.contains("x-amz-content-sha256") {
            headers.append((name: "X-Amz-Content-SHA256", value: SHA256.hash(request.body).hexString))
        }
        if let token = credentials.sessionToken, !omitsSessionTokenFromSignature,
            !names.contains("x-amz-security-token")
        {
            headers.append((name: "X-Amz-Security-Token", value: token))
        }
        return headers
    }

    public func canonicalRequest(_ request: Request, headers: [(name: String, value: String)]) -> String {
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let payloadHash =
            headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value
            ?? SHA256.hash(request.body).hexString
        return [
            request.method.uppercased(),
            canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
    }

    public func canonicalURI(_ path: String) -> String {
        let raw = path.isEmpty ? "/" : path
        let normalized = normalizesPath ? Self.removeDotSegments(raw) : raw
        return Self.percentEncode(normalized, keepingSlash: true)
    }

    /// RFC 3986 §5.2.4 dot-segment removal, also collapsing repeated slashes; a trailing
    /// slash is kept.
    static func removeDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        for segment in segments {
            switch segment {
            case ".": continue
            case "..": if !output.isEmpty { output.removeLast() }
            default: output.append(segment)
            }
        }
        let endsWithSlash = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
        var result = "/" + output.joined(separator: "/")
        if endsWithSlash && result != "/" { result += "/" }
        return result
    }

    /// Names and values encoded, sorted by name then value, `name=value` joined by `&`.
    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        let encoded: [(String, String)] = items.map { item in
            (percentEncode(item.name, keepingSlash: false), percentEncode(item.value, keepingSlash: false))
        }
        let sorted = encoded.sorted { (a: (String, String), b: (String, String)) -> Bool in
            a.0 == b.0 ? a.1 < b.1 : a.0 < b.0
        }
        return sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Lower-case names sorted; values trimmed with inner runs of white space folded to one
    /// space; repeated headers joined by commas in order.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var values: [String: [String]] = [:]
        for header in headers {
            let folded = header.value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                .joined(separator: " ")
            values[header.name.lowercased(), default: []].append(folded)
        }
        let names = values.keys.sorted()
        let canonical = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    /// RFC 3986 unreserved characters stay; every other byte becomes %XX (upper-case hex).
    public static func percentEncode(_ text: String, keepingSlash: Bool) -> String {
        var result = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)

    // MARK: Task 2: string to sign

    public func credentialScope(_ date: Date) -> String {
        "\(Self.amzDate(date).prefix(8))/\(region)/\(service)/aws4_request"
    }

    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        [
            "AWS4-HMAC-SHA256",
            Self.amzDate(date),
            credentialScope(date),
            SHA256.hash(Array(canonicalRequest.utf8)).hexString,
        ].joined(separator: "\n")
    }

    // MARK: Task 3: signature

    public func signingKey(secretAccessKey: String, date: Date) -> [UInt8] {
        let day = HMACSHA256.authenticationCode(
            key: Array("AWS4\(secretAccessKey)".utf8), message: String(Self.amzDate(date).prefix(8)))
        let regionKey = HMACSHA256.authenticationCode(key: day, message: region)
        let serviceKey = HMACSHA256.authenticationCode(key: regionKey, message: service)
        return HMACSHA256.authenticationCode(key: serviceKey, message: "aws4_request")
    }

    public func signature(stringToSign: String, secretAccessKey: String, date: Date) -> String {
        HMACSHA256.authenticationCode(
            key: signingKey(secretAccessKey: secretAccessKey, date: date), message: stringToSign
        ).hexString
    }

    // MARK: All stages

    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var authorization: String
        /// Every header to send: the request's own, the added ones, and Authorization.
        public var headers: [(name: String, value: String)]
    }

    public func sign(_ request: Request, credentials: AWSCredentials, date: Date) -> Signed {
        var headers = headersToSign(request, date: date, credentials: credentials)
        let canonical = canonicalRequest(request, headers: headers)
        let toSign = stringToSign(canonicalRequest: canonical, date: date)
        let signature = signature(stringToSign: toSign, secretAccessKey: credentials.secretAccessKey, date: date)
        let signedHeaders = Self.canonicalHeaders(headers).signed
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(credentialScope(date)), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        if let token = credentials.sessionToken, omitsSessionTokenFromSignature {
            headers.append((name: "X-Amz-Security-Token", value: token))
        }
        headers.append((name: "Authorization", value: authorization))
        return Signed(
            canonicalRequest: canonical, stringToSign: toSign, signature: signature, authorization: authorization,
            headers: headers)
    }
}
