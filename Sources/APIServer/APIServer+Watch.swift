import Foundation
import KubeCore
import Transport

/// Watch (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
/// newline-delimited `{"type","object"}` events over a chunked response.
/// - resourceVersion unset or "0": synthetic ADDED for the current state, then changes;
///   a specific version: only changes after it; older than the kept window: an ERROR event
///   carrying 410 Expired (as the real watch cache sends it).
/// - Selectors turn objects that start or stop matching into ADDED / DELETED.
/// - `allowWatchBookmarks`: BOOKMARK events while idle; `sendInitialEvents=true` ends the
///   initial state with a bookmark annotated `k8s.io/initial-events-end`.
/// - `timeoutSeconds` ends the stream cleanly.
extension APIServer {
    func handleWatch(_ request: ResourceRequest, _ writer: ResponseWriter) {
        let type = request.type
        let filter: ObjectFilter
        do {
            filter = try ObjectFilter(request)
            try requireNamespace(request)
        } catch {
            send(writer, error)
            return
        }
        let bookmarks = request.flag("allowWatchBookmarks")
        let sendInitialEvents = request.http.query("sendInitialEvents").map(ResourceRequest.isTrue)
        let requested = request.http.query("resourceVersion").flatMap { $0.isEmpty ? nil : $0 }
        if sendInitialEvents == true && request.http.query("resourceVersionMatch") != "NotOlderThan" {
            send(
                writer,
                APIError.invalid(
                    type, "",
                    [
                        FieldCause(
                            type: "FieldValueForbidden", field: "resourceVersionMatch",
                            message:
                                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
                    ]))
            return
        }
        var position: Int64
        var initial: [StoredObject] = []
        let epoch = store.currentWatchEpoch()
        if let requested, requested != "0", sendInitialEvents != true {
            guard let version = Int64(requested) else {
                send(writer, APIError.badRequest("invalid resource version \"\(requested)\""))
                return
            }
            position = version
        } else {
            let snapshot = store.list(type.storageKey, namespace: filter.namespace)
            initial = snapshot.objects.filter(filter.matches)
            position = snapshot.resourceVersion
        }
        let timeout = request.http.query("timeoutSeconds").flatMap(Double.init).map { max(1, $0) } ?? 1800
        let deadline = Date().addingTimeInterval(timeout)
        let asTable = request.wantsTable
        var sentHeaders = false
        let includeObject = request.http.query("includeObject") ?? "Metadata"

        guard writer.beginStream(status: 200, headers: ["Content-Type": "application/json"]) else { return }
        // Events found in one wake-up go out as one chunk (one send, one TLS record).
        var batch = Data()
        func flush() -> Bool {
            defer { batch.removeAll(keepingCapacity: true) }
            return batch.isEmpty || writer.write(batch)
        }
        func emit(_ eventType: String, _ stored: StoredObject) -> Bool {
            var line = Data("{\"type\":\"\(eventType)\",\"object\":".utf8)
            if asTable {
                line.append(
                    TableRenderer.table(
                        for: type, objects: [view(stored, type)], resourceVersion: String(stored.resourceVersion),
                        continueToken: nil, includeHeaders: !sentHeaders, includeObject: includeObject,
                        now: configuration.now()
                    ).serialized())
                sentHeaders = true
            } else {
                line.append(viewData(stored, type))
            }
            line.append(contentsOf: Array("}\n".utf8))
            batch.append(line)
            return batch.count < 65_536 || flush()
        }
        func bookmark(_ version: Int64, initialEventsEnd: Bool = false) -> Bool {
            var metadata: JSONValue = ["resourceVersion": .string(String(version))]
            if initialEventsEnd { metadata["annotations"] = ["k8s.io/initial-events-end": "true"] }
            let event: JSONValue = [
                "type": "BOOKMARK",
                "object": ["kind": .string(type.kind), "apiVersion": .string(type.groupVersion), "metadata": metadata],
            ]
            var line = event.serialized()
            line.append(UInt8(ascii: "\n"))
            return writer.write(line)
        }

        for object in initial {
            guard emit("ADDED", object) else { return }
        }
        guard flush() else { return }
        if sendInitialEvents == true, bookmarks {
            guard bookmark(position, initialEventsEnd: true) else { return }
        }
        let bookmarkInterval = configuration.bookmarkInterval.seconds
        var lastSent = Date()
        while writer.isOpen {
            let now = Date()
            if now >= deadline { break }
            let wake = min(deadline, now.addingTimeInterval(min(1, bookmarkInterval)))
            switch store.events(after: position, storageKey: type.storageKey, epoch: epoch, until: wake) {
            case .closed:
                writer.endStream()
                return
            case .expired(let oldest):
                let status = APIError.expired("too old resource version: \(position) (\(oldest))").status
                var line = JSONValue.object(["type": "ERROR", "object": status]).serialized()
                line.append(UInt8(ascii: "\n"))
                _ = writer.write(line)
                writer.endStream()
                return
            case .events(let events, let version):
                for event in events {
                    let matchesNow = filter.matches(event.object)
                    let matchedBefore = event.previous.map(filter.matches) ?? false
                    let eventType: String?
                    switch event.type {
                    case .added: eventType = matchesNow ? "ADDED" : nil
                    case .modified:
                        eventType =
                            matchesNow ? (matchedBefore ? "MODIFIED" : "ADDED") : (matchedBefore ? "DELETED" : nil)
                    case .deleted: eventType = matchesNow || matchedBefore ? "DELETED" : nil
                    }
                    if let eventType {
                        guard emit(eventType, event.object) else { return }
                        lastSent = Date()
                    }
                }
                guard flush() else { return }
                if !events.isEmpty, configuration.watchCoalescing > .zero {
                    Thread.sleep(forTimeInterval: configuration.watchCoalescing.seconds)
                }
                position = version
                if bookmarks, Date().timeIntervalSince(lastSent) >= bookmarkInterval {
                    guard bookmark(position) else { return }
                    lastSent = Date()
                }
            }
        }
        writer.endStream()
    }
}
