import Foundation
import Forecasting
import Synchronization

/// Loaded models by artefact URL, verified by checksum on load and reloaded when the file
/// changes (a promoted model is picked up without a restart).
public final class ModelRegistry: Sendable {
    public struct Loaded: Sendable {
        public var forecaster: Forecaster
        public var loadedAt: Date
        public var version: String
    }

    public enum Failure: Error, Sendable, Equatable {
        case missing(String)
        case corrupt(String)
        case unsupported(String)
    }

    private struct Entry {
        var modified: Date?
        var size: Int
        var result: Result<Loaded, Failure>
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// The model at `url` (file:// only), reloaded when its modification time or size changed.
    public func model(_ url: String, now: Date) -> Result<Loaded, Failure> {
        guard url.hasPrefix("file://") else {
            return .failure(.unsupported("\(url): only file:// artefacts are loaded by this controller build"))
        }
        let path = String(url.dropFirst("file://".count))
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            entries.withLock { $0[url] = nil }
            return .failure(.missing("\(path): no model file"))
        }
        let modified = attributes[.modificationDate] as? Date
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        if let entry = entries.withLock({ $0[url] }), entry.modified == modified, entry.size == size {
            return entry.result
        }
        let result: Result<Loaded, Failure>
        do {
            let artefact = try ModelArtefact.load(path: path)
            let digest = (try? artefact.encoded()).map { Array($0.suffix(32)) } ?? []
            let version = digest.prefix(6).map { String(format: "%02x", $0) }.joined()
            result = .success(Loaded(forecaster: Forecaster(artefact), loadedAt: now, version: version))
        } catch {
            result = .failure(.corrupt(error.description))
        }
        entries.withLock { $0[url] = Entry(modified: modified, size: size, result: result) }
        return result
    }
}
