import Autoscaler
import Foundation
import PolicyEngine
import Simulation
import TestSupport
import Testing

/// Caches keyed by a tenant's strings are bounded and evicted: spellings of one model share one entry (or
/// are refused), a model nobody names is dropped, and a budget refuses what would pass it.
@Suite struct ModelRegistryBoundsTests {
    static let model = Fixtures.root.appendingPathComponent("Models/seed-load.fsm").path

    @Test func spellingsShareOneCopyAndADeletedPolicyReleasesIt() async throws {
        let roots = FileRoots([Fixtures.root.appendingPathComponent("Models").path])
        let registry = ModelRegistry(fileRoots: roots)
        let now = Date()
        guard case .loaded = await registry.observe("file://" + Self.model, for: "a/one", now: now) else {
            Issue.record("the model loads")
            return
        }
        _ = await registry.observe("file://" + Self.model, for: "a/two", now: now)
        for spelling in [
            "file://" + Self.model.replacingOccurrences(of: "/Models/", with: "/Models//"),
            "file://" + Self.model.replacingOccurrences(of: "/Models/", with: "/Models/./"),
        ] {
            guard case .unavailable(.unsupported, _) = await registry.observe(spelling, for: "a/three", now: now) else {
                Issue.record("\(spelling) is refused, not loaded again")
                return
            }
        }
        #expect(registry.heldModels == 1)
        registry.release("a/one")
        #expect(registry.heldModels == 1, "a/two still names it")
        registry.release("a/two")
        registry.release("a/three")
        #expect(registry.heldModels == 0, "nobody names it: dropped")
    }

    @Test func aModelPastTheBudgetIsRefusedNotLoaded() async throws {
        let size = try #require(
            ((try FileManager.default.attributesOfItem(atPath: Self.model))[.size] as? NSNumber)?.intValue)
        let roots = FileRoots([Fixtures.root.appendingPathComponent("Models").path])
        let small = ModelRegistry(fileRoots: roots, limits: .init(modelBytes: size - 1, totalBytes: 1 << 30))
        guard
            case .unavailable(.unsupported, let message) = await small.observe(
                "file://" + Self.model, for: "a/p", now: Date())
        else {
            Issue.record("a model over the per-model limit is refused")
            return
        }
        #expect(message.contains("larger than"))
        #expect(small.heldModels == 0)
        #expect(ModelRegistry.Limits(memoryLimitBytes: 512 << 20) == .init(modelBytes: 64 << 20, totalBytes: 128 << 20))
    }

    @Test func theTraceCacheStaysBounded() throws {
        for scale in 1...(TraceLibrary.capacity + 10) {
            _ = try TraceLibrary.trace("seed", loadScale: Double(scale))
        }
        #expect(TraceLibrary.cachedCount <= TraceLibrary.capacity)
    }
}
