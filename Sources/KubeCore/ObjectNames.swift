/// Kubernetes object names, by apimachinery's validation package: one rule for the API server's checks and
/// for every other place a name arrives from outside (the access rules' namespaces).
public enum ObjectNames {
    /// RFC 1123 label: 1–63 of a-z, 0-9 and '-', starting and ending alphanumeric (namespaces, most names).
    public static func isDNSLabel(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 63 else { return false }
        let bytes = Array(name.utf8)
        func isAlnum(_ byte: UInt8) -> Bool { (97...122).contains(byte) || (48...57).contains(byte) }
        return isAlnum(bytes.first!) && isAlnum(bytes.last!) && bytes.allSatisfy { isAlnum($0) || $0 == 45 }
    }

    /// RFC 1123 subdomain: dot-separated labels, 253 bytes at most.
    public static func isDNSSubdomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }
}
