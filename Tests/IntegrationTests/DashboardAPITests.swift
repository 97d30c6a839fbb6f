import Autoscaler
import Foundation
import KubeClient
import KubeCore
import Simulation
import TestSupport
import Testing
import Transport

/// The dashboard's JSON API over a controller stepped through the sale by the test (virtual
/// time), served by the real endpoint. The controller never runs its informer here, so the
/// endpoint also shows its standby behaviour: the policy list comes from the API server.
@Suite struct DashboardAPITests {
    /// A controller (not running: the test steps it), its endpoint, and a client for it.
    static func serve(_ world: ControllerTests.World) throws -> (Controller, ControllerEndpoint, HTTPClient) {
        let controller = world.controller()
        return (
            controller, try ControllerEndpoint.start(controller: controller, address: "127.0.0.1", port: 0),
            HTTPClient()
        )
    }

    @Test func historyMatchesWhatTheControllerDid() async throws {
        let world = try await ControllerTests.World()
        defer { world.stop() }
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web", mode: "Predictive", modelURL: world.modelURL, calendar: "shop-calendar"))
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web-reactive", mode: "Reactive", modelURL: nil, calendar: nil))
        let (controller, endpoint, http) = try Self.serve(world)
        defer {
            endpoint.shutdown()
            http.shutdown()
        }
        func get(_ path: String) async throws -> (status: Int, json: JSONValue, response: HTTPResponse) {
            let response = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(endpoint.port)\(path)"))
            return (response.status, try JSONValue(parsing: response.body), response)
        }

        let start = world.clock.value
        let steps = 80  // 6 h 40 min: through the start of the sale, four hours in
        for _ in 0..<steps { try await world.step(controller, ["web", "web-reactive"]) }

        let list = try await get("/api/v1/policies")
        #expect(list.status == 200)
        #expect(list.response.headers["Content-Type"] == "application/json")
        #expect(list.json["reconciling"] == false, "the informer never ran: a standby view")
        let rows = list.json["policies"]?.arrayValue ?? []
        #expect(
            rows.map { "\($0["namespace"]?.stringValue ?? "")/\($0["name"]?.stringValue ?? "")" } == [
                "default/web", "default/web-reactive",
            ])
        let web = try await world.policy("web")
        let row = try #require(rows.first)
        #expect(row["mode"] == "Predictive")
        #expect(row["target"] == ["kind": "Simulated", "name": "web"])
        #expect(row["currentCapacity"] == web.value(at: ["status", "currentCapacity"]))
        #expect(row["desiredCapacity"] == web.value(at: ["status", "desiredCapacity"]))
        #expect(row.value(at: ["model", "ready"]) == true)
        #expect(row.value(at: ["model", "version"]) == web.value(at: ["status", "model", "version"]))
        #expect(
            row["conditions"]?.arrayValue?.map { $0["type"]?.stringValue ?? "" }.sorted() == [
                "Fallback", "MetricsAvailable", "ModelReady", "Ready", "ScalingLimited",
            ])
        // A Reactive policy uses no model: no model conditions, no model row.
        #expect(rows.last?.value(at: ["model", "ready"]) == .null)
        #expect(
            rows.last?["conditions"]?.arrayValue?.map { $0["type"]?.stringValue ?? "" }.sorted() == [
                "MetricsAvailable", "Ready", "ScalingLimited",
            ])

        let history = try await get("/api/v1/policies/default/web/history")
        #expect(history.status == 200)
        let samples = history.json["samples"]?.arrayValue ?? []
        #expect(samples.count == steps, "one sample per reconcile")
        let times = samples.compactMap { $0["time"]?.stringValue.flatMap(Timestamps.parse) }
        #expect(times.first == start)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 300 })
        #expect(samples.allSatisfy { $0["load"]?.doubleValue != nil && $0["forecast"]?.doubleValue != nil })
        #expect(
            samples.allSatisfy { sample in
                guard let time = sample["time"]?.stringValue.flatMap(Timestamps.parse),
                    let at = sample["forecastTime"]?.stringValue.flatMap(Timestamps.parse),
                    let low = sample["low"]?.doubleValue, let high = sample["high"]?.doubleValue,
                    let forecast = sample["forecast"]?.doubleValue
                else { return false }
                return at.timeIntervalSince(time) > 0 && at.timeIntervalSince(time) <= 600 && low <= forecast
                    && forecast <= high
            }, "forecasts point ahead, inside their band")
        #expect(samples.last?["currentCapacity"] == web.value(at: ["status", "currentCapacity"]))

        // Every scale action is in the capacity series and was announced by a ScaledUp/ScaledDown Event.
        let actions = history.json["actions"]?.arrayValue ?? []
        #expect(!actions.isEmpty, "the sale made the predictive policy scale")
        for action in actions {
            let sample = samples.first { $0["time"] == action["time"] }
            #expect(sample?["currentCapacity"] == action["to"])
        }
        let events = history.json["events"]?.arrayValue ?? []
        let scaledEvents = events.filter { $0["reason"] == "ScaledUp" || $0["reason"] == "ScaledDown" }
        #expect(scaledEvents.count == actions.count, "\(events)")
        #expect(history.json["forecastQuantile"] == .number(0.8))
        #expect(history.json["promotions"] == [])

        let missing = try await get("/api/v1/policies/default/nope/history")
        #expect(missing.status == 404)
        #expect(missing.json["error"]?.stringValue?.contains("default/nope") == true)

        // The page itself: served, self-contained.
        let page = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(endpoint.port)/"))
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(page.status == 200 && page.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(html.contains("api/v1/policies") && html.contains("EventSource"))
        #expect(
            !html.contains("src=") && !html.contains("href=\"http") && !html.contains("@import"), "no external assets")
    }

    @Test func streamAnnouncesReconciles() async throws {
        let world = try await ControllerTests.World()
        defer { world.stop() }
        _ = try await world.client.create(
            .scalingPolicies, namespace: "default",
            SeedScenario.policy(name: "web-reactive", mode: "Reactive", modelURL: nil, calendar: nil))
        let (controller, endpoint, http) = try Self.serve(world)
        defer {
            endpoint.shutdown()
            http.shutdown()
        }
        let response = try await http.stream(
            HTTPRequest(url: "http://127.0.0.1:\(endpoint.port)/api/v1/stream", timeout: nil))
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/event-stream")
        var text = ""
        var versions: [Int] = []
        for try await chunk in response.body {
            text += String(decoding: chunk, as: UTF8.self)
            versions = text.components(separatedBy: "data: {\"version\":").dropFirst().compactMap {
                Int($0.prefix { $0.isNumber })
            }
            if versions.count == 1 { try await world.step(controller, ["web-reactive"]) }
            if versions.count >= 2 { break }
        }
        #expect(text.hasPrefix("retry: 5000\n\n"))
        #expect(text.contains("event: reconciled\n"))
        #expect(versions == [0, 1], "the initial state, then one event for the one reconcile")
    }
}
