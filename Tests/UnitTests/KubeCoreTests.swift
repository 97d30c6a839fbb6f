import Foundation
import Testing

@testable import KubeCore

private func json(_ text: String) throws -> JSONValue {
    try JSONValue(parsing: Data(text.utf8))
}

@Suite("JSONValue")
struct JSONValueTests {
    @Test func parsesAndSerialisesWithExactIntegers() throws {
        let value = try json(#"{"b":[1,2.5,-3e2,true,null,"x\"\u00e9\n"],"a":{"n":9007199254740993}}"#)
        #expect(value["a"]?["n"] == .integer(9_007_199_254_740_993))
        #expect(value["b"]?.arrayValue?[1] == .number(2.5))
        #expect(value["b"]?.arrayValue?[2] == .number(-300))
        #expect(value["b"]?.arrayValue?[5] == .string("x\"é\n"))
        let text = String(decoding: value.serialized(), as: UTF8.self)
        #expect(text == #"{"a":{"n":9007199254740993},"b":[1,2.5,-300.0,true,null,"x\"é\n"]}"#)
        #expect(try JSONValue(parsing: value.serialized()) == value)
    }

    @Test(
        "rejects invalid JSON",
        arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "tru", "[1] 2", "\"\u{01}\""])
    func rejects(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try json(text) }
    }

    @Test func surrogatePairs() throws {
        #expect(try json(#""\ud83d\ude00""#) == .string("😀"))
    }
}

@Suite("Patches")
struct PatchTests {
    /// RFC 7386 Appendix A.
    @Test(
        "merge patch (RFC 7386 appendix A)",
        arguments: [
            (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
            (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
            (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
            (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
            (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
            (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
            (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
            (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
            (#"{"a":"foo"}"#, "null", "null"),
            (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
            (#"{"e":null}"#, #"{"a":1}"#, #"{"a":1,"e":null}"#),
            (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
            (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
        ])
    func mergePatch(target: String, patch: String, expected: String) throws {
        #expect(applyMergePatch(try json(patch), to: try json(target)) == (try json(expected)))
    }

    @Test func jsonPatchOperations() throws {
        let document = try json(#"{"metadata":{"labels":{"a/b":"1"},"finalizers":["x"]},"spec":{"replicas":2}}"#)
        let patch = try json(
            #"""
            [{"op":"test","path":"/spec/replicas","value":2},
             {"op":"replace","path":"/spec/replicas","value":5},
             {"op":"add","path":"/metadata/finalizers/-","value":"forescale.io/cleanup"},
             {"op":"remove","path":"/metadata/finalizers/0"},
             {"op":"add","path":"/metadata/labels/tier","value":"web"},
             {"op":"copy","from":"/metadata/labels/a~1b","path":"/metadata/labels/copied"},
             {"op":"move","from":"/metadata/labels/tier","path":"/metadata/annotations"}]
            """#)
        let result = try applyJSONPatch(patch, to: document)
        #expect(
            result
                == (try json(
                    #"{"metadata":{"labels":{"a/b":"1","copied":"1"},"finalizers":["forescale.io/cleanup"],"annotations":"web"},"spec":{"replicas":5}}"#
                )))
    }

    @Test func jsonPatchFailures() throws {
        let document = try json(#"{"a":[1]}"#)
        #expect(throws: JSONPatchError.testFailed("/a/0")) {
            try applyJSONPatch(try json(#"[{"op":"test","path":"/a/0","value":2}]"#), to: document)
        }
        #expect(throws: JSONPatchError.pathNotFound("/b/c")) {
            try applyJSONPatch(try json(#"[{"op":"add","path":"/b/c","value":1}]"#), to: document)
        }
        #expect(throws: JSONPatchError.pathNotFound("/a/5")) {
            try applyJSONPatch(try json(#"[{"op":"remove","path":"/a/5"}]"#), to: document)
        }
        #expect(throws: JSONPatchError.self) {
            try applyJSONPatch(try json(#"[{"op":"frobnicate","path":"/a"}]"#), to: document)
        }
        #expect(throws: JSONPatchError.self) { try applyJSONPatch(try json(#"{"op":"add"}"#), to: document) }
    }
}

@Suite("Label selectors")
struct LabelSelectorTests {
    static let labels = ["app": "web", "tier": "frontend", "forescale.io/policy": "shop"]

    @Test(
        "matching",
        arguments: [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app=web,tier=frontend", true),
            ("app=web,tier=backend", false),
            ("tier in (frontend, backend)", true),
            ("tier notin (frontend)", false),
            ("missing notin (a)", true),
            ("forescale.io/policy", true),
            ("!forescale.io/policy", false),
            ("!missing", true),
            ("app in (api),tier", false),
            ("app=web, tier in (frontend,x), !missing", true),
        ])
    func matching(selector: String, expected: Bool) throws {
        #expect(try LabelSelector(parsing: selector).matches(Self.labels) == expected)
    }

    @Test("invalid selectors", arguments: ["app=we b", "-bad=1", "app in frontend", "app in ()", "a/b/c=1", "app=-x"])
    func invalid(selector: String) {
        #expect(throws: LabelSelector.ParseError.self) { try LabelSelector(parsing: selector) }
    }
}

@Suite("Conditions")
struct ConditionTests {
    @Test func transitionTimeMovesOnlyWhenStatusFlips() {
        let t0 = Date(timeIntervalSince1970: 1_000)
        let t1 = Date(timeIntervalSince1970: 2_000)
        let t2 = Date(timeIntervalSince1970: 3_000)
        var conditions: [Condition] = []
        #expect(
            conditions.set(
                Condition(
                    type: "Ready", status: .false, observedGeneration: 1, lastTransitionTime: t0, reason: "ModelMissing"
                )) == .transitioned(from: nil, to: .false))
        #expect(
            conditions.set(
                Condition(
                    type: "Ready", status: .false, observedGeneration: 1, lastTransitionTime: t1, reason: "ModelMissing"
                )) == .unchanged)
        #expect(
            conditions.set(
                Condition(
                    type: "Ready", status: .false, observedGeneration: 2, lastTransitionTime: t1,
                    reason: "MetricsStale", message: "no data for 15m")) == .updated)
        #expect(conditions.condition("Ready")?.lastTransitionTime == t0)
        #expect(conditions.condition("Ready")?.reason == "MetricsStale")
        #expect(
            conditions.set(
                Condition(
                    type: "Ready", status: .true, observedGeneration: 2, lastTransitionTime: t2, reason: "Reconciled"))
                == .transitioned(from: .false, to: .true))
        #expect(conditions.condition("Ready")?.lastTransitionTime == t2)
        #expect(conditions.count == 1)
    }
}

@Suite("Field selectors")
struct FieldSelectorTests {
    @Test func matchesDottedPaths() throws {
        let event = try json(
            #"{"metadata":{"name":"e1","namespace":"shop"},"involvedObject":{"kind":"ScalingPolicy","name":"web"},"count":3}"#
        )
        #expect(try FieldSelector(parsing: "metadata.name=e1").matches(event))
        #expect(try FieldSelector(parsing: "involvedObject.kind==ScalingPolicy,involvedObject.name=web").matches(event))
        #expect(try !FieldSelector(parsing: "metadata.namespace!=shop").matches(event))
        #expect(try FieldSelector(parsing: "count=3").matches(event))
        #expect(try FieldSelector(parsing: "spec.nodeName=").matches(event))
        #expect(throws: FieldSelector.ParseError.self) { try FieldSelector(parsing: "metadata.name") }
    }
}

@Suite("Rate limiters (client-go defaults)")
struct RateLimiterTests {
    @Test func exponentialBackoffDoublesFrom5msAndCapsAt1000s() {
        var backoff = ItemExponentialBackoff<String>()
        let delays = (0..<20).map { _ in backoff.when("ns/web") }
        #expect(delays[0] == .milliseconds(5))
        #expect(delays[1] == .milliseconds(10))
        #expect(delays[4] == .milliseconds(80))
        #expect(delays[17] == .milliseconds(655_360))
        #expect(delays[18] == .seconds(1000))
        #expect(delays[19] == .seconds(1000))
        #expect(backoff.when("ns/other") == .milliseconds(5), "keys back off independently")
        backoff.forget("ns/web")
        #expect(backoff.when("ns/web") == .milliseconds(5))
    }

    @Test func tokenBucketAllowsTheBurstThenTenPerSecond() {
        var bucket = TokenBucket(rate: 10, burst: 100)
        let now = Duration.seconds(50)
        let waits = (0..<103).map { _ in bucket.reserve(now: now) }
        #expect(waits.prefix(100).allSatisfy { $0 == .zero })
        #expect(waits[100] == .milliseconds(100))
        #expect(waits[101] == .milliseconds(200))
        // 200 ms later two tokens came back, but three were already promised: wait 200 ms.
        #expect(bucket.reserve(now: now + .milliseconds(200)) == .milliseconds(200))
        // After another 800 ms eight more came back: the debt is paid, no wait.
        #expect(bucket.reserve(now: now + .seconds(1)) == .zero)
    }

    @Test func controllerLimiterTakesTheLongerDelay() {
        var limiter = ControllerRateLimiter<String>(bucket: TokenBucket(rate: 10, burst: 1))
        #expect(limiter.when("a", now: .zero) == .milliseconds(5))
        #expect(limiter.when("b", now: .zero) == .milliseconds(100))
    }
}

@Suite("Work queue state (client-go semantics)")
struct WorkQueueStateTests {
    @Test func repeatedAddsCollapse() {
        var queue = WorkQueueState<String>()
        for _ in 0..<5 { queue.add("ns/a") }
        queue.add("ns/b")
        #expect(queue.count == 2)
        #expect(queue.get() == "ns/a")
        #expect(queue.get() == "ns/b")
        #expect(queue.get() == nil)
    }

    @Test func aKeyIsNeverHandedOutTwiceAtOnce() {
        var queue = WorkQueueState<String>()
        queue.add("ns/a")
        #expect(queue.get() == "ns/a")
        queue.add("ns/a")  // changed while a worker holds it
        queue.add("ns/a")
        #expect(queue.get() == nil, "must wait for done")
        queue.done("ns/a")
        #expect(queue.get() == "ns/a")
        queue.done("ns/a")
        #expect(queue.get() == nil)
    }

    @Test func delayedAddsWaitUntilDueAndTheEarliestWins() {
        var queue = WorkQueueState<String>()
        queue.add("ns/a", due: .seconds(10), now: .zero)
        queue.add("ns/a", due: .seconds(4), now: .zero)
        queue.add("ns/b", due: .seconds(6), now: .zero)
        #expect(queue.nextWakeUp == .seconds(4))
        queue.advance(to: .seconds(3))
        #expect(queue.get() == nil)
        queue.advance(to: .seconds(5))
        #expect(queue.get() == "ns/a")
        queue.advance(to: .seconds(6))
        #expect(queue.get() == "ns/b")
        #expect(queue.nextWakeUp == nil)
    }

    @Test func failuresBackOffExponentiallyUntilForgotten() {
        var queue = WorkQueueState<String>()
        var dueTimes: [Duration] = []
        var now = Duration.zero
        for _ in 0..<4 {
            queue.addRateLimited("ns/a", now: now)
            dueTimes.append(queue.nextWakeUp! - now)
            now = queue.nextWakeUp!
            queue.advance(to: now)
            #expect(queue.get() == "ns/a")
            queue.done("ns/a")
        }
        #expect(dueTimes == [.milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(40)])
        #expect(queue.retries("ns/a") == 4)
        queue.forget("ns/a")
        queue.addRateLimited("ns/a", now: now)
        #expect(queue.nextWakeUp! - now == .milliseconds(5))
    }

    @Test func shutDownDrainsThenStops() {
        var queue = WorkQueueState<String>()
        queue.add("ns/a")
        queue.add("ns/b", due: .seconds(1), now: .zero)
        queue.shutDown()
        queue.add("ns/c")
        #expect(queue.get() == "ns/a")
        #expect(queue.get() == nil)
        #expect(queue.nextWakeUp == nil)
    }
}
