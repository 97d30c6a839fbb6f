import Cloud
import Forecasting
import Foundation
import PolicyEngine
import Synchronization

/// Loaded models by artefact URL (`file://` or `s3://bucket/key`), verified by checksum on
/// load and reloaded when the artefact changes — the file's modification time and size, the
/// S3 object's ETag (a conditional GET) — so a promoted model is used without a restart.
///
/// Bounded: URLs are parsed and kept in their one spelling (`ArtefactURL`), so spellings of one artefact
/// share one copy; each policy holds one URL, and a model no policy holds any more is dropped (a policy
/// deleted or pointed elsewhere); no artefact larger than `limits.modelBytes` is read, and the models held
/// together stay within `limits.totalBytes` — past it a new model is refused with a message, never loaded.
public final class ModelRegistry: Sendable {
    public typealias Loaded = LoadedModel

    /// Memory for models, derived from the process's memory limit (`--memory-limit-mb`).
    public struct Limits: Sendable, Equatable {
        /// The largest artefact read (its bytes; the loaded parameters take about as much again).
        public var modelBytes: Int
        /// All models held at once.
        public var totalBytes: Int

        /// A quarter of the process's memory for models; one model at most half of that.
        public init(memoryLimitBytes: Int) {
            totalBytes = max(1 << 20, memoryLimitBytes / 4)
            modelBytes = min(ModelLimits.fileBytes, totalBytes / 2)
        }

        public init(modelBytes: Int, totalBytes: Int) {
            self.modelBytes = modelBytes
            self.totalBytes = totalBytes
        }

        /// The controller's default: a 512 MiB pod.
        public static let standard = Limits(memoryLimitBytes: 512 << 20)
    }

    public enum Failure: Error, Sendable, Equatable {
        /// The artefact does not exist (a file not found, S3 NoSuchKey).
        case missing(String)
        /// The artefact could not be read now (S3 5xx, a network failure): it may exist.
        case unreachable(String)
        case corrupt(String)
        case unsupported(String)

        public var problem: (ModelProblem, String) {
            switch self {
            case .missing(let message), .unreachable(let message): (.missing, message)
            case .corrupt(let message): (.corrupt, message)
            case .unsupported(let message): (.unsupported, message)
            }
        }
    }

    /// The model at `url` as policy `holder`'s reconcile observes it; the policy holds that model until it
    /// names another or is released.
    public func observe(_ url: String?, for holder: String, now: Date) async -> ModelObservation {
        guard let url else {
            release(holder)
            return .notConfigured
        }
        let parsed: ArtefactURL
        do { parsed = try ArtefactURL(parsing: url) } catch {
            release(holder)
            return .unavailable(.unsupported, message: "spec.model.artefact: \(error)")
        }
        hold(parsed, by: holder)
        switch await model(parsed, now: now) {
        case .success(let loaded): return .loaded(loaded)
        case .failure(let failure): return .unavailable(failure.problem.0, message: failure.problem.1)
        }
    }

    /// Forgets `holder`'s model (its policy was deleted), dropping the model if nobody else holds it.
    public func release(_ holder: String) {
        state.withLock { state in
            guard let url = state.holders.removeValue(forKey: holder) else { return }
            state.dropIfUnheld(url)
        }
    }

    private func hold(_ url: ArtefactURL, by holder: String) {
        state.withLock { state in
            let previous = state.holders.updateValue(url, forKey: holder)
            if let previous, previous != url { state.dropIfUnheld(previous) }
        }
    }

    private struct Entry {
        /// File: modification time and size; S3: the ETag.
        var version: String?
        var bytes: Int
        var result: Result<Loaded, Failure>
    }

    private struct State {
        var entries: [ArtefactURL: Entry] = [:]
        var holders: [String: ArtefactURL] = [:]
        var heldBytes: Int { entries.values.reduce(0) { $0 + $1.bytes } }

        mutating func dropIfUnheld(_ url: ArtefactURL) {
            if !holders.values.contains(url) { entries[url] = nil }
        }
    }

    private let state = Mutex(State())
    private let s3: (@Sendable () async throws -> S3API)?
    /// Where `file://` artefacts may be read from.
    public let fileRoots: FileRoots
    public let limits: Limits

    public init(
        fileRoots: FileRoots = .none, s3: (@Sendable () async throws -> S3API)? = nil, limits: Limits = .standard
    ) {
        self.fileRoots = fileRoots
        self.s3 = s3
        self.limits = limits
    }

    /// Models held now (tests and benchmarks: nothing is held that no policy names).
    public var heldModels: Int { state.withLock { $0.entries.count } }

    public func model(_ url: String, now: Date) async -> Result<Loaded, Failure> {
        do { return await model(try ArtefactURL(parsing: url), now: now) } catch {
            return .failure(.unsupported("\(error)"))
        }
    }

    public func model(_ url: ArtefactURL, now: Date) async -> Result<Loaded, Failure> {
        switch url {
        case .s3(let bucket, let key): return await s3Model(url, bucket: bucket, key: key, now: now)
        case .file(let path): return fileModel(url, path: path, now: now)
        }
    }

    /// Stores a load's result, unless the models held would pass the budget. A failed load holds no bytes.
    private func store(_ url: ArtefactURL, _ entry: Entry) -> Result<Loaded, Failure> {
        var entry = entry
        if case .failure = entry.result { entry.bytes = 0 }
        return state.withLock { state in
            let others = state.heldBytes - (state.entries[url]?.bytes ?? 0)
            guard others + entry.bytes <= limits.totalBytes else {
                state.entries[url] = nil
                return .failure(
                    .unsupported(
                        "\(url): the models held already take \(others) of the \(limits.totalBytes) bytes this controller "
                            + "keeps for models (--memory-limit-mb): this one (\(entry.bytes) bytes) is not loaded"))
            }
            state.entries[url] = entry
            return entry.result
        }
    }

    private func tooLarge(_ url: ArtefactURL, _ size: Int) -> Failure {
        .unsupported(
            "\(url): \(size) bytes is larger than the \(limits.modelBytes) bytes this controller loads per model "
                + "(a quarter of --memory-limit-mb, halved)")
    }

    private func s3Model(_ url: ArtefactURL, bucket: String, key: String, now: Date) async -> Result<Loaded, Failure> {
        guard let s3 else {
            return .failure(.unsupported("\(url): s3:// artefacts need AWS access (forescale-controller --aws)"))
        }
        let cached = state.withLock { $0.entries[url] }
        do {
            switch try await s3().getObject(
                bucket: bucket, key: key, ifNoneMatch: cached?.version, maxBytes: limits.modelBytes)
            {
            case .notModified:
                if let cached { return cached.result }
                return .failure(.unreachable("\(url): not modified but not cached"))
            case .object(let object):
                let result: Result<Loaded, Failure>
                do {
                    let artefact = try ModelArtefact.decode(object.data, path: url.description)
                    result = .success(
                        Loaded(
                            forecaster: Forecaster(artefact), version: Self.version(object.data), loadedAt: now,
                            artefact: url.description))
                } catch {
                    result = .failure(.corrupt(error.description))
                }
                return store(url, Entry(version: object.eTag, bytes: object.data.count, result: result))
            }
        } catch let error as AWSError where error.isNotFound {
            state.withLock { _ = $0.entries.removeValue(forKey: url) }
            return .failure(.missing("\(url): no such object"))
        } catch AWSError.transport(.responseTooLarge) {
            return .failure(tooLarge(url, limits.modelBytes + 1))
        } catch {
            if let cached, case .success = cached.result { return cached.result }  // keep serving the last good model
            return .failure(.unreachable("\(url): \(error)"))
        }
    }

    /// The first 12 hex digits of the artefact's trailing SHA-256.
    public static func version(_ data: Data) -> String {
        data.suffix(32).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// The model at a file:// URL, reloaded when its modification time or size changed.
    private func fileModel(_ url: ArtefactURL, path requested: String, now: Date) -> Result<Loaded, Failure> {
        guard let path = fileRoots.resolve(requested),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular
        else {
            state.withLock { _ = $0.entries.removeValue(forKey: url) }
            return .failure(.missing(fileRoots.refusal(requested, what: "model file")))
        }
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        guard size <= limits.modelBytes else { return .failure(tooLarge(url, size)) }
        let version = "\(modified)/\(size)"
        if let entry = state.withLock({ $0.entries[url] }), entry.version == version { return entry.result }
        let result: Result<Loaded, Failure>
        do throws(ModelArtefact.LoadError) {
            guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
            let artefact = try ModelArtefact.decode(data, path: path)
            result = .success(
                Loaded(
                    forecaster: Forecaster(artefact), version: Self.version(data), loadedAt: now,
                    artefact: url.description))
        } catch {
            result = .failure(.corrupt(error.description))
        }
        return store(url, Entry(version: version, bytes: size, result: result))
    }
}
