import Foundation
import KubeCore
import TestSupport
import Testing

/// API semantics of the embedded server, each checked over real HTTPS with our own client
/// (https://kubernetes.io/docs/reference/using-api/api-concepts/).
@Suite struct APIServerSemanticsTests {
    static let widgets = "/apis/test.forescale.io/v1/namespaces/default/widgets"
    static let configMaps = "/api/v1/namespaces/default/configmaps"

    static func started() async throws -> EmbeddedCluster {
        let cluster = try EmbeddedCluster(bookmarkInterval: .seconds(1), watchHistory: 200)
        let crd = try YAML.parse(
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("kube/crd.yaml"))), as: UTF8.self))
        let created = try await cluster.request(
            "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body: crd)
        #expect(created.status == 201, "\(created.text)")
        #expect(
            created.json.value(at: ["status", "conditions"])?.arrayValue?.compactMap { $0["type"]?.stringValue } == [
                "NamesAccepted", "Established",
            ])
        return cluster
    }

    static func widget(_ name: String, replicas: Int64 = 1, labels: JSONValue = [:]) -> JSONValue {
        [
            "apiVersion": "test.forescale.io/v1", "kind": "Widget",
            "metadata": ["name": .string(name), "labels": labels], "spec": ["replicas": .integer(replicas)],
        ]
    }

    @Test func resourceVersionsConflictsAndGeneration() async throws {
        let cluster = try await Self.started()
        defer { cluster.stop() }
        let created = try await cluster.request("POST", Self.widgets, body: Self.widget("a", replicas: 1))
        #expect(created.status == 201)
        let version = created.json.value(at: ["metadata", "resourceVersion"])!.stringValue!
        #expect(created.json.value(at: ["metadata", "generation"]) == 1)
        #expect(created.json.value(at: ["spec", "mode"]) == "Active", "schema default applied")

        var update = created.json
        update.setValue(2, at: ["spec", "replicas"])
        let updated = try await cluster.request("PUT", Self.widgets + "/a", body: update)
        #expect(updated.status == 200)
        #expect(updated.json.value(at: ["metadata", "generation"]) == 2)
        #expect(Int(updated.json.value(at: ["metadata", "resourceVersion"])!.stringValue!)! > Int(version)!)

        // Stale resourceVersion: 409 Conflict with the API server's message.
        let stale = try await cluster.request("PUT", Self.widgets + "/a", body: update)
        #expect(stale.status == 409)
        #expect(stale.json["reason"] == "Conflict")
        #expect(stale.json["message"]?.stringValue?.contains("the object has been modified") == true)

        // Custom resources refuse unconditional updates.
        var unconditional = updated.json
        unconditional.setValue(nil, at: ["metadata", "resourceVersion"])
        let refused = try await cluster.request("PUT", Self.widgets + "/a", body: unconditional)
        #expect(refused.status == 422)

        // A metadata-only change keeps the generation; a no-op write keeps the resourceVersion.
        let labelled = try await cluster.request(
            "PATCH", Self.widgets + "/a", body: ["metadata": ["labels": ["x": "y"]]],
            contentType: "application/merge-patch+json")
        #expect(labelled.json.value(at: ["metadata", "generation"]) == 2)
        let noop = try await cluster.request(
            "PATCH", Self.widgets + "/a", body: ["metadata": ["labels": ["x": "y"]]],
            contentType: "application/merge-patch+json")
        #expect(
            noop.json.value(at: ["metadata", "resourceVersion"])
                == labelled.json.value(at: ["metadata", "resourceVersion"]))

        // A resourceVersion inside a JSON patch is a precondition.
        let precondition: JSONValue = [
            ["op": "replace", "path": "/metadata/resourceVersion", "value": .string(version)],
            ["op": "replace", "path": "/spec/replicas", "value": 9],
        ]
        #expect(
            try await cluster.request(
                "PATCH", Self.widgets + "/a", body: precondition, contentType: "application/json-patch+json"
            ).status == 409)
        // Strategic merge patch is refused for custom resources.
        #expect(
            try await cluster.request(
                "PATCH", Self.widgets + "/a", body: ["spec": ["replicas": 3]],
                contentType: "application/strategic-merge-patch+json"
            ).status == 415)
    }

    @Test func statusSubresourceIsolation() async throws {
        let cluster = try await Self.started()
        defer { cluster.stop() }
        var body = Self.widget("s")
        body["status"] = ["replicas": 99]
        let created = try await cluster.request("POST", Self.widgets, body: body)
        #expect(created.json["status"] == nil, "create drops status")
        let status = try await cluster.request(
            "PATCH", Self.widgets + "/s/status",
            body: ["status": ["replicas": 1], "spec": ["replicas": 50], "metadata": ["labels": ["sneaky": "yes"]]],
            contentType: "application/merge-patch+json")
        #expect(status.status == 200)
        #expect(status.json.value(at: ["status", "replicas"]) == 1)
        #expect(status.json.value(at: ["spec", "replicas"]) == 1, "status writes ignore spec")
        #expect(status.json.value(at: ["metadata", "labels", "sneaky"]) == nil, "status writes ignore metadata")
        #expect(status.json.value(at: ["metadata", "generation"]) == 1)
        let main = try await cluster.request(
            "PATCH", Self.widgets + "/s", body: ["status": ["replicas": 7], "spec": ["replicas": 2]],
            contentType: "application/merge-patch+json")
        #expect(main.json.value(at: ["status", "replicas"]) == 1, "main writes ignore status")
        #expect(main.json.value(at: ["spec", "replicas"]) == 2)
        #expect(
            try await cluster.request("GET", Self.widgets + "/s/status").json.value(at: ["status", "replicas"]) == 1)
    }

    @Test func schemaValidationPruningAndStrictFields() async throws {
        let cluster = try await Self.started()
        defer { cluster.stop() }
        var bad = Self.widget("bad", replicas: 500)
        bad.setValue("Sometimes", at: ["spec", "mode"])
        bad.setValue("UPPER", at: ["spec", "target"])
        let invalid = try await cluster.request("POST", Self.widgets, body: bad)
        #expect(invalid.status == 422)
        #expect(invalid.json["reason"] == "Invalid")
        let fields = Set(
            invalid.json.value(at: ["details", "causes"])?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
        #expect(fields == ["spec.replicas", "spec.mode", "spec.target"])
        var missing = Self.widget("missing")
        missing.setValue(nil, at: ["spec", "replicas"])
        let required = try await cluster.request("POST", Self.widgets, body: missing)
        #expect(required.status == 422 && required.text.contains("spec.replicas: Required value"))

        var unknown = Self.widget("unknown")
        unknown.setValue("x", at: ["spec", "colour"])
        let strict = try await cluster.request("POST", Self.widgets + "?fieldValidation=Strict", body: unknown)
        #expect(strict.status == 400 && strict.text.contains("unknown field \\\"spec.colour\\\""))
        let warned = try await cluster.request("POST", Self.widgets + "?fieldValidation=Warn", body: unknown)
        #expect(warned.status == 201)
        #expect(warned.headers["Warning"]?.contains("unknown field") == true)
        #expect(warned.json.value(at: ["spec", "colour"]) == nil, "unknown fields are pruned")

        // Duplicate keys are a strict-validation error too.
        let duplicate = Data(
            #"{"apiVersion":"test.forescale.io/v1","kind":"Widget","metadata":{"name":"dup"},"spec":{"replicas":1,"replicas":2}}"#
                .utf8)
        let response = try await cluster.client.execute(
            .init(
                method: "POST", url: cluster.baseURL + Self.widgets + "?fieldValidation=Strict",
                headers: ["Authorization": "Bearer \(cluster.token)", "Content-Type": "application/json"],
                body: duplicate))
        #expect(response.status == 400 && String(decoding: response.body, as: UTF8.self).contains("duplicate field"))
    }

    @Test func listPaginationSelectorsAndResourceVersionRules() async throws {
        let cluster = try await Self.started()
        defer { cluster.stop() }
        for index in 0..<10 {
            _ = try await cluster.request(
                "POST", Self.widgets, body: Self.widget("w\(index)", labels: ["tier": index % 2 == 0 ? "edge" : "core"])
            )
        }
        let first = try await cluster.request("GET", Self.widgets + "?limit=4")
        #expect(first.json["kind"] == "WidgetList")
        #expect(first.json["items"]?.arrayValue?.count == 4)
        #expect(first.json.value(at: ["metadata", "remainingItemCount"]) == 6)
        let token = first.json.value(at: ["metadata", "continue"])!.stringValue!
        // A write between pages does not show up: pages come from the first page's snapshot.
        _ = try await cluster.request("POST", Self.widgets, body: Self.widget("w99"))
        let second = try await cluster.request(
            "GET",
            Self.widgets + "?limit=100&continue=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        #expect(
            second.json["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } == [
                "w4", "w5", "w6", "w7", "w8", "w9",
            ])
        #expect(
            second.json.value(at: ["metadata", "resourceVersion"])
                == first.json.value(at: ["metadata", "resourceVersion"]))
        #expect(try await cluster.request("GET", Self.widgets + "?limit=2&continue=bogus").status == 400)

        let edge = try await cluster.request(
            "GET",
            Self.widgets + "?labelSelector=" + "tier in (edge),!missing".addingPercentEncoding(
                withAllowedCharacters: .alphanumerics)!)
        #expect(edge.json["items"]?.arrayValue?.count == 5)
        let byName = try await cluster.request("GET", Self.widgets + "?fieldSelector=metadata.name%3Dw3")
        #expect(byName.json["items"]?.arrayValue?.count == 1)
        #expect(try await cluster.request("GET", Self.widgets + "?fieldSelector=spec.replicas%3D1").status == 400)
        #expect(try await cluster.request("GET", Self.widgets + "?labelSelector=%3D%3D").status == 400)

        #expect(try await cluster.request("GET", Self.widgets + "?resourceVersionMatch=Exact").status == 400)
        #expect(
            try await cluster.request("GET", Self.widgets + "?resourceVersion=1&resourceVersionMatch=Exact").status
                == 410)
        #expect(
            try await cluster.request("GET", Self.widgets + "?resourceVersion=1&resourceVersionMatch=NotOlderThan")
                .status == 200)
    }

    @Test func watchSemantics() async throws {
        let cluster = try await Self.started()
        defer { cluster.stop() }
        _ = try await cluster.request("POST", Self.widgets, body: Self.widget("existing", labels: ["tier": "edge"]))
        let start = try await cluster.request("GET", Self.widgets).json.value(at: ["metadata", "resourceVersion"])!
            .stringValue!

        // From a version: only later changes, in order, with selector transitions.
        let stream = try await cluster.watch(
            Self.widgets + "?watch=true&resourceVersion=\(start)&labelSelector=tier%3Dedge")
        let fromZero = try await cluster.watch(Self.widgets + "?watch=1&resourceVersion=0&timeoutSeconds=2")
        _ = try await cluster.request("POST", Self.widgets, body: Self.widget("later", labels: ["tier": "edge"]))
        _ = try await cluster.request(
            "PATCH", Self.widgets + "/later", body: ["metadata": ["labels": ["tier": "core"]]],
            contentType: "application/merge-patch+json")
        _ = try await cluster.request(
            "PATCH", Self.widgets + "/existing", body: ["spec": ["replicas": 4]],
            contentType: "application/merge-patch+json")
        _ = try await cluster.request("DELETE", Self.widgets + "/existing")
        var seen: [String] = []
        var versions: [Int] = []
        for try await event in stream {
            seen.append(
                "\(event["type"]!.stringValue!) \(event.value(at: ["object", "metadata", "name"])!.stringValue!)")
            versions.append(Int(event.value(at: ["object", "metadata", "resourceVersion"])!.stringValue!)!)
            if seen.count == 4 { break }
        }
        #expect(seen == ["ADDED later", "DELETED later", "MODIFIED existing", "DELETED existing"])
        #expect(versions == versions.sorted() && Set(versions).count == 4)

        // resourceVersion=0: synthetic ADDED for the state, then the stream ends at timeoutSeconds.
        var initial: [String] = []
        for try await event in fromZero {
            initial.append(
                "\(event["type"]!.stringValue!) \(event.value(at: ["object", "metadata", "name"])!.stringValue!)")
        }
        #expect(initial.first == "ADDED existing")

        // Bookmarks only when asked for, carrying a resourceVersion.
        let bookmarks = try await cluster.watch(
            Self.widgets + "?watch=true&allowWatchBookmarks=true&resourceVersion=\(start)&timeoutSeconds=3")
        var bookmark: JSONValue?
        for try await event in bookmarks where event["type"] == "BOOKMARK" {
            bookmark = event
            break
        }
        #expect(bookmark?.value(at: ["object", "kind"]) == "Widget")
        #expect(bookmark?.value(at: ["object", "metadata", "resourceVersion"])?.stringValue.flatMap(Int.init) != nil)

        // Too old (the window is 200 events here): an ERROR event with 410 Expired.
        for index in 0..<210 {
            _ = try await cluster.request("POST", Self.configMaps, body: ["metadata": ["name": .string("c\(index)")]])
        }
        var expired: JSONValue?
        for try await event in try await cluster.watch(Self.widgets + "?watch=true&resourceVersion=\(start)") {
            expired = event
            break
        }
        #expect(expired?["type"] == "ERROR")
        #expect(expired?.value(at: ["object", "code"]) == 410)
        #expect(expired?.value(at: ["object", "reason"]) == "Expired")
    }

    @Test func finalizersDeletionTimestampAndDryRun() async throws {
        let cluster = try await Self.started()
        defer { cluster.stop() }
        var held = Self.widget("held")
        held.setValue(["test.forescale.io/hold"], at: ["metadata", "finalizers"])
        _ = try await cluster.request("POST", Self.widgets, body: held)
        let deleting = try await cluster.request("DELETE", Self.widgets + "/held")
        #expect(deleting.status == 200)
        #expect(deleting.json.value(at: ["metadata", "deletionTimestamp"]) != nil)
        #expect(deleting.json.value(at: ["metadata", "generation"]) == 2)
        let addFinalizer = try await cluster.request(
            "PATCH", Self.widgets + "/held", body: ["metadata": ["finalizers": ["test.forescale.io/hold", "another"]]],
            contentType: "application/merge-patch+json")
        #expect(addFinalizer.status == 422)
        let released = try await cluster.request(
            "PATCH", Self.widgets + "/held", body: ["metadata": ["finalizers": nil]],
            contentType: "application/merge-patch+json")
        #expect(released.status == 200)
        #expect(try await cluster.request("GET", Self.widgets + "/held").status == 404)

        // dryRun=All validates and answers but stores nothing.
        let dry = try await cluster.request("POST", Self.widgets + "?dryRun=All", body: Self.widget("dry"))
        #expect(dry.status == 201 && dry.json.value(at: ["metadata", "uid"]) != nil)
        #expect(try await cluster.request("GET", Self.widgets + "/dry").status == 404)
        _ = try await cluster.request("POST", Self.widgets, body: Self.widget("kept"))
        #expect(try await cluster.request("DELETE", Self.widgets + "/kept?dryRun=All").status == 200)
        #expect(try await cluster.request("GET", Self.widgets + "/kept").status == 200)
        let preconditioned = try await cluster.request(
            "DELETE", Self.widgets + "/kept", body: ["preconditions": ["uid": "not-the-uid"]])
        #expect(preconditioned.status == 409)

        // Errors are Status objects with reason and code.
        let missing = try await cluster.request("GET", Self.widgets + "/nope")
        #expect(missing.json["kind"] == "Status" && missing.json["reason"] == "NotFound" && missing.json["code"] == 404)
        #expect(missing.json["message"] == "widgets.test.forescale.io \"nope\" not found")
        let duplicate = try await cluster.request("POST", Self.widgets, body: Self.widget("kept"))
        #expect(duplicate.json["reason"] == "AlreadyExists" && duplicate.status == 409)
        #expect(
            try await cluster.request("GET", "/api/v1/namespaces/absent/configmaps/x").json["message"]
                == "namespaces \"absent\" not found")
    }

    @Test func authenticationAndDiscovery() async throws {
        let cluster = try await Self.started()
        defer { cluster.stop() }
        let anonymous = try await cluster.client.execute(
            .init(method: "GET", url: cluster.baseURL + "/api/v1/namespaces"))
        #expect(anonymous.status == 401)
        let wrong = try await cluster.request("GET", "/api/v1/namespaces", headers: [("Authorization", "Bearer wrong")])
        #expect(wrong.status == 401)
        #expect(try await cluster.client.execute(.init(method: "GET", url: cluster.baseURL + "/readyz")).status == 200)
        let groups =
            try await cluster.request("GET", "/apis").json["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            ?? []
        #expect(
            groups.contains("test.forescale.io") && groups.contains("apps") && groups.contains("coordination.k8s.io"))
        let resources = try await cluster.request("GET", "/apis/test.forescale.io/v1").json["resources"]?.arrayValue?
            .compactMap { $0["name"]?.stringValue }
        #expect(resources == ["widgets", "widgets/status", "widgets/scale"])
        let openAPI = try await cluster.request("GET", "/openapi/v3").json
        let url = openAPI.value(at: ["paths", "apis/test.forescale.io/v1", "serverRelativeURL"])?.stringValue
        #expect(url?.hasPrefix("/openapi/v3/apis/test.forescale.io/v1?hash=") == true)

        // Deleting the CRD removes its resources from discovery and storage.
        _ = try await cluster.request("POST", Self.widgets, body: Self.widget("doomed"))
        #expect(
            try await cluster.request(
                "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.forescale.io"
            ).status == 200)
        #expect(try await cluster.request("GET", "/apis/test.forescale.io/v1").status == 404)
        #expect(try await cluster.request("GET", Self.widgets).status == 404)
    }

    @Test func injectedFaults() async throws {
        let cluster = try await Self.started()
        defer { cluster.stop() }
        _ = try await cluster.request(
            "POST", "/forescale-test/v1/faults",
            body: ["pathPrefix": .string(Self.configMaps), "status": 429, "retryAfterSeconds": 2, "count": 2])
        let first = try await cluster.request("GET", Self.configMaps)
        #expect(first.status == 429 && first.headers["Retry-After"] == "2" && first.json["reason"] == "TooManyRequests")
        #expect(try await cluster.request("GET", Self.configMaps).status == 429)
        #expect(try await cluster.request("GET", Self.configMaps).status == 200)

        // A fault on every path does not catch the hook that clears it.
        _ = try await cluster.request(
            "POST", "/forescale-test/v1/faults", body: ["pathPrefix": "/", "status": 500, "count": 1000])
        #expect(try await cluster.request("GET", Self.configMaps).status == 500)
        #expect(try await cluster.request("DELETE", "/forescale-test/v1/faults").status == 200)
        #expect(try await cluster.request("GET", Self.configMaps).status == 200)

        // A dropped watch ends the stream; the client sees end of input.
        let stream = try await cluster.watch(Self.configMaps + "?watch=true")
        try await Task.sleep(for: .milliseconds(200))
        _ = try await cluster.request("POST", "/forescale-test/v1/drop-watches", body: [:])
        var count = 0
        for try await _ in stream { count += 1 }
        #expect(count == 0)
    }
}
