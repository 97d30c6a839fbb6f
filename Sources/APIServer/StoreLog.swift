import FileIO
import Foundation
import KubeCore

#if canImport(Glibc)
    import Glibc
#endif

/// Durable state in a data directory: `snapshot.jsonl` (a header line, then one stored object
/// per line, replaced atomically) and `wal.jsonl` (one line per committed write, appended and
/// synced before the write is acknowledged; concurrent writers share one fdatasync).
///
/// Recovery loads the snapshot, replays log records newer than it, drops a torn final line
/// (a crash mid-append), then writes a fresh snapshot and empties the log.
final class StoreLog: @unchecked Sendable {
    struct CorruptFile: Error, CustomStringConvertible {
        var path: String
        var line: Int
        var problem: String
        var description: String { "\(path):\(line): \(problem)" }
    }

    struct Record {
        var storageKey: String
        var objectKey: String
        var resourceVersion: Int64
        var object: JSONValue
        /// The object's serialized bytes as read (written back without re-serialising).
        var data: Data
    }

    static let format = "forescale-apiserver-store"
    static let formatVersion: Int64 = 1

    let directory: String
    private let compactionBytes: UInt64
    private var walFD: Int32 = -1
    /// Guarded by the store's lock (appends happen inside it).
    private var writtenBytes: UInt64 = 0
    private let syncState = NSLock()
    private var syncedBytes: UInt64 = 0
    private let writtenLock = NSLock()

    var snapshotPath: String { directory + "/snapshot.jsonl" }
    var walPath: String { directory + "/wal.jsonl" }

    init(directory: String, compactionBytes: UInt64 = 64 << 20) throws {
        self.directory = directory
        self.compactionBytes = compactionBytes
        do {
            try AtomicFile.createPrivateDirectory(directory)
        } catch {
            throw CorruptFile(path: directory, line: 0, problem: error.problem)
        }
    }

    /// Loads the state and leaves a fresh snapshot with an empty log behind.
    func recover() throws -> (resourceVersion: Int64, objects: [Record]) {
        var objects: [String: Record] = [:]
        var version: Int64 = 0
        if let snapshot = FileManager.default.contents(atPath: snapshotPath) {
            let lines = snapshot.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            guard let headerLine = lines.first else {
                throw CorruptFile(path: snapshotPath, line: 1, problem: "empty snapshot")
            }
            let header = try parse(Data(headerLine), path: snapshotPath, line: 1)
            guard header["format"]?.stringValue == Self.format else {
                throw CorruptFile(
                    path: snapshotPath, line: 1,
                    problem: "not a Forescale API server snapshot (expected format \(Self.format))")
            }
            guard header["version"]?.intValue == Int(Self.formatVersion) else {
                throw CorruptFile(
                    path: snapshotPath, line: 1,
                    problem:
                        "snapshot format version "
                        + "\(header["version"].map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "?") "
                        + "is not \(Self.formatVersion); start with an empty --data-dir or use the matching "
                        + "forescale version"
                )
            }
            version = Int64(header["resourceVersion"]?.intValue ?? 0)
            for (offset, line) in lines.dropFirst().enumerated() {
                let record = try parse(Data(line), path: snapshotPath, line: offset + 2)
                let parsed = try decodeRecord(record, line: Data(line), path: snapshotPath, number: offset + 2)
                objects[parsed.storageKey + " " + parsed.objectKey] = parsed
            }
        }
        if let wal = FileManager.default.contents(atPath: walPath) {
            var lines = wal.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            if lines.last?.isEmpty == true { lines.removeLast() }
            for (offset, line) in lines.enumerated() {
                let isLast = offset == lines.count - 1
                let record: JSONValue
                do {
                    record = try parse(Data(line), path: walPath, line: offset + 1)
                } catch  where isLast && wal.last != UInt8(ascii: "\n") {
                    break  // torn final append: that write was never acknowledged
                }
                let parsed = try decodeRecord(record, line: Data(line), path: walPath, number: offset + 1)
                guard parsed.resourceVersion > version else { continue }
                version = parsed.resourceVersion
                let key = parsed.storageKey + " " + parsed.objectKey
                if record["t"]?.stringValue == "delete" {
                    objects[key] = nil
                } else {
                    objects[key] = parsed
                }
            }
        }
        let records = objects.values.sorted { $0.resourceVersion < $1.resourceVersion }
        try writeSnapshot(records.map { ($0.storageKey, $0.data) }, resourceVersion: version)
        try openEmptyLog()
        return (version, records)
    }

    private func parse(_ data: Data, path: String, line: Int) throws -> JSONValue {
        do {
            return try JSONValue(parsing: data, maxDepth: StoreLimits.recordDepth)
        } catch {
            throw CorruptFile(path: path, line: line, problem: "\(error)")
        }
    }

    private static let objectMarker = Array(",\"o\":".utf8)

    private func decodeRecord(_ record: JSONValue, line: Data, path: String, number: Int) throws -> Record {
        guard let storageKey = record["k"]?.stringValue, let object = record["o"],
            let name = object.value(at: ["metadata", "name"])?.stringValue,
            let version = object.value(at: ["metadata", "resourceVersion"])?.stringValue.flatMap({ Int64($0) })
        else {
            throw CorruptFile(
                path: path, line: number, problem: "record lacks k, o, metadata.name or metadata.resourceVersion")
        }
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        // Lines are `{"k":…,"t":…,"o":OBJECT}` as `line(storageKey:type:objectData:)` writes them.
        let bytes = [UInt8](line)
        var data: Data
        if let start = bytes.firstRange(of: Self.objectMarker)?.upperBound, bytes.last == UInt8(ascii: "}") {
            data = Data(bytes[start..<(bytes.count - 1)])
        } else {
            data = object.serialized()
        }
        return Record(
            storageKey: storageKey, objectKey: namespace + "/" + name, resourceVersion: version, object: object,
            data: data)
    }

    private func writeSnapshot(_ objects: [(storageKey: String, data: Data)], resourceVersion: Int64) throws {
        var data = JSONValue.object([
            "format": .string(Self.format), "version": .integer(Self.formatVersion),
            "resourceVersion": .integer(resourceVersion),
        ]).serialized()
        data.append(UInt8(ascii: "\n"))
        for (storageKey, objectData) in objects {
            data.append(line(storageKey: storageKey, type: "put", objectData: objectData))
        }
        // Secrets are stored here too: owner-only from the first byte.
        try AtomicFile.write(data, to: snapshotPath, mode: AtomicFile.secretMode)
    }

    private func line(storageKey: String, type: String, objectData: Data) -> Data {
        var data = Data("{\"k\":".utf8)
        data.append(JSONValue.string(storageKey).serialized())
        data.append(contentsOf: Array(",\"t\":\"\(type)\",\"o\":".utf8))
        data.append(objectData)
        data.append(contentsOf: Array("}\n".utf8))
        return data
    }

    private func openEmptyLog() throws {
        if walFD >= 0 { Glibc.close(walFD) }
        walFD = open(walPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard walFD >= 0 else {
            throw CorruptFile(path: walPath, line: 0, problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        fsync(walFD)
        writtenLock.withLock { writtenBytes = 0 }
        syncState.withLock { syncedBytes = 0 }
    }

    /// Appends one committed event (caller holds the store lock); returns the offset to sync to.
    func append(_ event: StoreEvent) throws -> UInt64 {
        let data = line(
            storageKey: event.storageKey, type: event.type == .deleted ? "delete" : "put", objectData: event.object.data
        )
        try data.withUnsafeBytes { raw throws in
            var offset = 0
            while offset < raw.count {
                let count = Glibc.write(walFD, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    throw CorruptFile(
                        path: walPath, line: 0, problem: "append failed: \(String(cString: strerror(errno)))")
                }
                offset += count
            }
        }
        return writtenLock.withLock {
            writtenBytes += UInt64(data.count)
            return writtenBytes
        }
    }

    var needsCompaction: Bool { writtenLock.withLock { writtenBytes } > compactionBytes }

    /// Group commit: one fdatasync covers every append made before it started.
    func sync(through offset: UInt64) throws {
        try syncState.withLock {
            guard syncedBytes < offset else { return }
            let target = writtenLock.withLock { writtenBytes }
            guard fdatasync(walFD) == 0 else {
                throw CorruptFile(
                    path: walPath, line: 0, problem: "fdatasync failed: \(String(cString: strerror(errno)))")
            }
            syncedBytes = target
        }
    }

    /// Replaces the snapshot with the current state and empties the log (caller holds the store lock).
    func compact(snapshot buckets: [String: [String: StoredObject]], resourceVersion: Int64) throws {
        try writeSnapshot(
            buckets.flatMap { storageKey, bucket in bucket.values.map { (storageKey, $0.data) } },
            resourceVersion: resourceVersion)
        try syncState.withLock {
            guard ftruncate(walFD, 0) == 0 else {
                throw CorruptFile(
                    path: walPath, line: 0, problem: "truncate failed: \(String(cString: strerror(errno)))")
            }
            fsync(walFD)
            syncedBytes = 0
            writtenLock.withLock { writtenBytes = 0 }
        }
    }

    func close() {
        syncState.withLock {
            if walFD >= 0 {
                fsync(walFD)
                Glibc.close(walFD)
                walFD = -1
            }
        }
    }
}
