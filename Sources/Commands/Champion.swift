import Autoscaler
import Cloud
import FileIO
import Forecasting
import Foundation
import KubeCore
import PolicyEngine

/// The model a trainer run found at a policy's artefact, and exactly which version it was, so that a promotion
/// replaces that version only: a champion promoted meanwhile (another shard, a person) is never overwritten by
/// a challenger that was not compared with it. "Does not exist" is a champion of none; "could not be read" (an
/// S3 5xx, a permission error) is an error — never taken for none.
struct Champion {
    let url: ArtefactURL
    /// Nil: no comparable model there (none, or not a model this version reads).
    let forecaster: Forecaster?
    /// S3: the ETag read (nil: no object). File: the SHA-256 version of the bytes read (nil: no file).
    let readVersion: String?

    enum ReplaceError: Error, CustomStringConvertible {
        case championChanged(String)
        var description: String {
            switch self {
            case .championChanged(let detail):
                "the champion changed while this run trained (\(detail)): not promoted; the next run compares with it"
            }
        }
    }

    static func read(
        _ url: ArtefactURL, s3: (@Sendable () async throws -> S3API)?, fileRoots: FileRoots, maxBytes: Int
    ) async throws -> Champion {
        switch url {
        case .file(let path):
            let data = try fileContents(path, fileRoots: fileRoots, maxBytes: maxBytes)
            return Champion(
                url: url, forecaster: data.flatMap { try? Forecaster(ModelArtefact.decode($0, path: path)) },
                readVersion: data.map(ModelRegistry.version))
        case .s3(let bucket, let key):
            guard let s3 else { throw UsageError("\(url): S3 artefacts need --aws") }
            do {
                guard case .object(let object) = try await s3().getObject(bucket: bucket, key: key, maxBytes: maxBytes)
                else { throw AWSError.malformedResponse("GetObject without a condition answered Not Modified") }
                return Champion(
                    url: url, forecaster: try? Forecaster(ModelArtefact.decode(object.data, path: url.description)),
                    readVersion: object.eTag ?? "")
            } catch let error as AWSError where error.isNotFound {
                return Champion(url: url, forecaster: nil, readVersion: nil)
            }
        }
    }

    /// The file's bytes, nil when it does not exist (nor, perhaps, its directory: the policy's place is made on
    /// its first promotion); the nearest existing directory must be under a root.
    private static func fileContents(_ path: String, fileRoots: FileRoots, maxBytes: Int) throws -> Data? {
        let location = URL(fileURLWithPath: path)
        var ancestor = location.deletingLastPathComponent().path
        while !FileManager.default.fileExists(atPath: ancestor), ancestor != "/" {
            ancestor = URL(fileURLWithPath: ancestor).deletingLastPathComponent().path
        }
        guard fileRoots.resolve(ancestor) != nil else { throw UsageError(fileRoots.refusal(path, what: "model file")) }
        guard let directory = fileRoots.resolve(location.deletingLastPathComponent().path) else { return nil }
        let file = directory + "/" + location.lastPathComponent
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        let size = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes, let data = FileManager.default.contents(atPath: file) else {
            throw UsageError("\(path): cannot read the champion (or it is larger than \(maxBytes) bytes)")
        }
        return data
    }

    /// file://: the champion is read again and must be the version read before, then temp + fsync + rename
    /// (the directory is created under its root). s3://: a new versioned key first, then the pointer key the
    /// policy reads with If-Match on the ETag read (If-None-Match: * when there was none) — a crash in between
    /// leaves the old model in use, a lost race leaves the other writer's.
    func replace(
        with data: Data, version: String, s3: (@Sendable () async throws -> S3API)?, fileRoots: FileRoots, now: Date
    ) async throws {
        switch url {
        case .file(let path):
            let location = URL(fileURLWithPath: path)
            let parent = location.deletingLastPathComponent()
            try createUnderRoot(parent.path, fileRoots: fileRoots)
            let current = try Self.fileContents(path, fileRoots: fileRoots, maxBytes: .max).map(ModelRegistry.version)
            guard current == readVersion else {
                throw ReplaceError.championChanged("\(url) is now \(current ?? "gone"), was \(readVersion ?? "none")")
            }
            guard let directory = fileRoots.resolve(parent.path) else {
                throw UsageError(fileRoots.refusal(path, what: "model file"))
            }
            try AtomicFile.write(data, to: directory + "/" + location.lastPathComponent)
        case .s3(let bucket, let key):
            guard let s3 else { throw UsageError("\(url): S3 artefacts need --aws") }
            let api = try await s3()
            let directory = key.contains("/") ? String(key[..<key.lastIndex(of: "/")!]) + "/" : ""
            // Compact UTC time in the key (no ':'), so keys sort by time and need no escaping.
            let stamp = Timestamps.format(now).replacingOccurrences(of: "-", with: "").replacingOccurrences(
                of: ":", with: "")
            _ = try await api.putObject(
                bucket: bucket, key: "\(directory)versions/\(stamp)-\(version).fsm", data: data, ifNoneMatch: "*")
            do {
                if let readVersion {
                    _ = try await api.putObject(bucket: bucket, key: key, data: data, ifMatch: readVersion)
                } else {
                    _ = try await api.putObject(bucket: bucket, key: key, data: data, ifNoneMatch: "*")
                }
            } catch let error as AWSError where error.code == "PreconditionFailed" || error.code == "412" {
                throw ReplaceError.championChanged("\(url): \(error)")
            }
        }
    }

    /// Creates the policy's directory (and its parents) below the root that holds it.
    private func createUnderRoot(_ directory: String, fileRoots: FileRoots) throws {
        if fileRoots.resolve(directory) != nil { return }
        let parent = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        guard parent != directory, parent != "/" else {
            throw UsageError(fileRoots.refusal(directory, what: "model directory"))
        }
        try createUnderRoot(parent, fileRoots: fileRoots)
        guard let resolvedParent = fileRoots.resolve(parent) else {
            throw UsageError(fileRoots.refusal(directory, what: "model directory"))
        }
        let target = resolvedParent + "/" + URL(fileURLWithPath: directory).lastPathComponent
        try FileManager.default.createDirectory(
            atPath: target, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o750])
    }
}
