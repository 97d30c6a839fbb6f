import KubeClient
import Testing
import Transport

/// URL paths and query values are percent-encoded byte by byte over ASCII sets: non-ASCII
/// letters are encoded too (Foundation's `.alphanumerics` kept them), "/" never survives in
/// a segment, a query value keeps only the unreserved characters.
@Suite struct PercentEncodingTests {
    @Test(arguments: [
        ("web-1.a_b~", "web-1.a_b~", "web-1.a_b~"),
        ("café", "caf%C3%A9", "caf%C3%A9"),
        ("a b/c", "a%20b%2Fc", "a%20b%2Fc"),
        ("system:node@x", "system:node@x", "system%3Anode%40x"),
        ("k=v&x", "k=v&x", "k%3Dv%26x"),
        ("100%", "100%25", "100%25"),
        ("", "", ""),
    ])
    func encodes(text: String, path: String, query: String) {
        #expect(PercentEncoding.encode(text, keeping: PercentEncoding.pathSegment) == path)
        #expect(PercentEncoding.encode(text, keeping: PercentEncoding.unreserved) == query)
    }

    @Test func resourcePathsEncodeNames() {
        #expect(
            ResourceRef.configMaps.path(namespace: "team a", name: "calendar/ü")
                == "/api/v1/namespaces/team%20a/configmaps/calendar%2F%C3%BC")
    }
}
