import Cloud
import Forecasting
import Foundation
import PolicyEngine
import Synchronization

/// Loaded models by artefact URL (`file://` or `s3://bucket/key`), verified by checksum on
/// load and reloaded when the artefact changes — the file's modification time and size, the
/// S3 object's ETag (a conditional GET) — so a promoted model is used without a restart.
public final class ModelRegistry: Sendable {
    public typealias Loaded = LoadedModel

    public enum Failure: Error, Sendable, Equatable {
        case missing(String)
        case corrupt(String)
        case unsupported(String)

        public var problem: (ModelProblem, String) {
            switch self {
            case .missing(let message): (.missing, message)
            case .corrupt(let message): (.corrupt, message)
            case .unsupported(let message): (.unsupported, message)
            }
        }
    }

    /// The model at `url` as a reconcile observes it.
    public func observe(_ url: String?, now: Date) async -> ModelObservation {
        guard let url else { return .notConfigured }
        switch await model(url, now: now) {
        case .success(let loaded): return .loaded(loaded)
        case .failure(let failure): return .unavailable(failure.problem.0, message: failure.problem.1)
        }
    }

    private struct Entry {
        var modified: Date?
        var size: Int
        var result: Result<Loaded, Failure>
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let s3Entries = Mutex<[String: (eTag: String?, result: Result<Loaded, Failure>)]>([:])
    private let s3: (@Sendable () async throws -> S3API)?
    /// Where `file://` artefacts may be read from.
    public let fileRoots: FileRoots

    public init(fileRoots: FileRoots = .none, s3: (@Sendable () async throws -> S3API)? = nil) {
        self.fileRoots = fileRoots
        self.s3 = s3
    }

    public func model(_ url: String, now: Date) async -> Result<Loaded, Failure> {
        if url.hasPrefix("s3://") { return await s3Model(url, now: now) }
        return fileModel(url, now: now)
    }

    private func s3Model(_ url: String, now: Date) async -> Result<Loaded, Failure> {
        let location = url.dropFirst("s3://".count)
        guard let slash = location.firstIndex(of: "/"), let s3 else {
            return .failure(
                .unsupported("\(url): s3:// artefacts need AWS access (forescale-controller --aws) and s3://bucket/key")
            )
        }
        let bucket = String(location[..<slash])
        let key = String(location[location.index(after: slash)...])
        let cached = s3Entries.withLock { $0[url] }
        do {
            switch try await s3().getObject(bucket: bucket, key: key, ifNoneMatch: cached?.eTag) {
            case .notModified:
                if let cached { return cached.result }
                return .failure(.missing("\(url): not modified but not cached"))
            case .object(let object):
                let result: Result<Loaded, Failure>
                do {
                    let artefact = try ModelArtefact.decode(object.data, path: url)
                    result = .success(
                        Loaded(
                            forecaster: Forecaster(artefact), version: Self.version(object.data), loadedAt: now,
                            artefact: url))
                } catch {
                    result = .failure(.corrupt(error.description))
                }
                s3Entries.withLock { $0[url] = (object.eTag, result) }
                return result
            }
        } catch {
            if let cached, case .success = cached.result { return cached.result }  // keep serving the last good model
            return .failure(.missing("\(url): \(error)"))
        }
    }

    /// The first 12 hex digits of the artefact's trailing SHA-256.
    public static func version(_ data: Data) -> String {
        data.suffix(32).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// The model at a file:// URL, reloaded when its modification time or size changed.
    private func fileModel(_ url: String, now: Date) -> Result<Loaded, Failure> {
        guard url.hasPrefix("file://") else {
            return .failure(.unsupported("\(url): artefacts are file:// or s3:// URLs"))
        }
        let requested = String(url.dropFirst("file://".count))
        guard let path = fileRoots.resolve(requested),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular
        else {
            entries.withLock { $0[url] = nil }
            return .failure(.missing(fileRoots.refusal(requested, what: "model file")))
        }
        let modified = attributes[.modificationDate] as? Date
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= ModelLimits.fileBytes else {
            return .failure(
                .corrupt(
                    "\(path): \(size) bytes is larger than any model this controller loads (\(ModelLimits.fileBytes))"))
        }
        if let entry = entries.withLock({ $0[url] }), entry.modified == modified, entry.size == size {
            return entry.result
        }
        let result: Result<Loaded, Failure>
        do throws(ModelArtefact.LoadError) {
            guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
            let artefact = try ModelArtefact.decode(data, path: path)
            result = .success(
                Loaded(forecaster: Forecaster(artefact), version: Self.version(data), loadedAt: now, artefact: url))
        } catch {
            result = .failure(.corrupt(error.description))
        }
        entries.withLock { $0[url] = Entry(modified: modified, size: size, result: result) }
        return result
    }
}
