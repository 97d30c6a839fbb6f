import Cloud
import Foundation
import TestSupport
import Testing

/// Our reader of AWS Query-protocol XML: recorded responses, the XML a response may use
/// (namespaces, entities, CDATA, comments, empty elements, attributes), and refusals.
@Suite struct XMLTreeTests {
    static func seed(_ name: String) throws -> Data {
        try Data(contentsOf: Fixtures.root.appendingPathComponent("Tests/Fuzz/seeds/xml/\(name).xml"))
    }

    @Test func recordedResponsesRead() throws {
        let groups = try XMLTree.parse(Self.seed("002-DescribeAutoScalingGroups"))
        #expect(groups.name == "DescribeAutoScalingGroupsResponse")
        let member = try #require(
            groups.elements(path: ["DescribeAutoScalingGroupsResult", "AutoScalingGroups", "member"]).first)
        #expect(member.text("AutoScalingGroupName") == "asg-inference")
        #expect(member.text("DesiredCapacity").flatMap(Int.init) != nil)

        let error = try XMLTree.parse(Self.seed("005-CreateAutoScalingGroup"))
        #expect(error.first(named: "Code")?.stringValue == "ValidationError")
        #expect(error.first(named: "Message")?.stringValue.hasPrefix("Valid requests must contain") == true)

        let sts = try XMLTree.parse(Self.seed("020-AssumeRoleWithWebIdentity"))
        #expect(sts.elements(path: ["AssumeRoleWithWebIdentityResult", "Credentials", "AccessKeyId"]).count == 1)
    }

    @Test func entitiesCDATANamespacesAndEmptyElements() throws {
        let tree = try XMLTree.parse(Self.seed("entities"))
        #expect(tree.name == "Root")
        #expect(tree.text("Text") == "<b> & \"q\" 's' é中")
        #expect(tree.elements(path: ["Empty"]).count == 1 && tree.text("Empty") == "")
        #expect(tree.text("C") == "<raw>&amp;")
        #expect(tree.stringValue == "<b> & \"q\" 's' é中<raw>&amp;")
    }

    @Test(arguments: [
        ("", "no document element"),
        ("<a><b></a>", "</a> closes <b>"),
        ("<a>", "never closed"),
        ("<a>&bogus;</a>", "unknown entity"),
        ("<a>&#xFFFFFFFF;</a>", "unknown entity"),
        ("<a x=1/>", "quoted attribute"),
        ("<a/><b/>", "content after the document element"),
        ("<a><!-- open", "unterminated"),
    ])
    func malformedIsRefusedWithThePlace(text: String, problem: String) {
        #expect {
            _ = try XMLTree.parse(Data(text.utf8))
        } throws: { error in
            (error as? XMLTree.ParseError)?.problem.contains(problem) == true
        }
    }

    @Test func depthAndSizeAreBounded() throws {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        #expect {
            _ = try XMLTree.parse(Data(deep.utf8))
        } throws: { error in
            (error as? XMLTree.ParseError)?.problem.contains("deeper than \(XMLTree.maxDepth)") == true
        }
        let nested =
            String(repeating: "<a>", count: XMLTree.maxDepth) + String(repeating: "</a>", count: XMLTree.maxDepth)
        #expect(try XMLTree.parse(Data(nested.utf8)).name == "a")
    }
}
