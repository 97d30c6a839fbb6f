import Autoscaler
import Foundation
import TestSupport
import Testing

/// Local files a policy may name: only under a root, and through a mount as the image has them.
@Suite struct FileRootsTests {
    @Test func aMountServesTheImagePathsFromALocalFolder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.file("Models"), withIntermediateDirectories: true)
        try Data("m".utf8).write(to: URL(fileURLWithPath: directory.file("Models/seed-load.fsm")))
        try Data("secret".utf8).write(to: URL(fileURLWithPath: directory.file("outside.txt")))
        let roots = FileRoots(["/models=" + directory.file("Models")])
        #expect(roots.roots.count == 1)
        #expect(roots.resolve("/models/seed-load.fsm")?.hasSuffix("/Models/seed-load.fsm") == true)
        #expect(roots.resolve("/models/../outside.txt") == nil, "a mount does not reach past its folder")
        #expect(roots.resolve("/modelsX/seed-load.fsm") == nil)
        #expect(roots.resolve("/models/missing.fsm") == nil)
        #expect(roots.resolve(directory.file("outside.txt")) == nil)
        #expect(FileRoots(["/models=" + directory.file("nosuch")]).roots.isEmpty, "a mount of nothing is no root")
    }
}
