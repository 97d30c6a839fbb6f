import Foundation
import KubeClient
import KubeCore
import TestSupport
import Testing

@Suite struct EventRecorderTests {
    static let regarding = ObjectReference(
        apiVersion: "forescale.io/v1alpha1", kind: "ScalingPolicy", namespace: "default", name: "web", uid: "uid-1")

    @Test func aggregatesRepeatsIntoASeries() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let recorder = EventRecorder(
            client: client, reportingController: "forescale.io/controller", reportingInstance: "test", clock: clock)
        for _ in 0..<3 {
            await recorder.record(
                regarding: Self.regarding, type: .normal, reason: "ScaledUp", action: "Scale", note: "capacity 2 -> 3")
            clock.advance(by: .seconds(30))
        }
        await recorder.record(
            regarding: Self.regarding, type: .warning, reason: "MetricsStale", action: "Observe",
            note: "no datapoint for 10 minutes")
        let events = try await client.list(.events, namespace: "default").items
        #expect(events.count == 2)
        let scaled = events.first { $0["reason"] == "ScaledUp" }
        #expect(scaled?.value(at: ["series", "count"]) == 3)
        #expect(scaled?["reportingController"] == "forescale.io/controller")
        // core/v1 readers (kubectl describe) see the same Events.
        let core = try await client.list(
            .coreEvents, namespace: "default",
            fieldSelector: "involvedObject.name=web,involvedObject.kind=ScalingPolicy"
        ).items
        #expect(core.count == 2)
        #expect(recorder.counts.sent == 4 && recorder.counts.failed == 0)
    }

    @Test func fallsBackToCoreV1WhenEventsV1IsNotServed() async throws {
        let cluster = try EmbeddedCluster()
        defer { cluster.stop() }
        let client = try cluster.kubeClient()
        defer { client.shutdown() }
        cluster.server.injectFault(.init(pathPrefix: "/apis/events.k8s.io/", status: 404, count: 1_000))
        let recorder = EventRecorder(
            client: client, reportingController: "forescale.io/controller", reportingInstance: "test",
            clock: ManualClock())
        await recorder.record(
            regarding: Self.regarding, type: .normal, reason: "ScaledUp", action: "Scale", note: "2 -> 3")
        await recorder.record(
            regarding: Self.regarding, type: .normal, reason: "ScaledUp", action: "Scale", note: "2 -> 3")
        let core = try await client.list(.coreEvents, namespace: "default").items
        #expect(core.count == 1)
        #expect(core.first?["count"] == 2)
        #expect(core.first?.value(at: ["source", "component"]) == "forescale.io/controller")
    }
}
