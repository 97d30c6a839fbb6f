import Digest
import FileIO
import Foundation

/// What a trained model needs besides its weights, stored as the artefact's JSON header.
public struct ModelHeader: Codable, Sendable, Equatable {
    public var network: NetworkConfiguration
    public var featureSet: String
    public var featureNames: [String]
    public var targetColumn: String
    public var scaler: MinMaxScaler
    public var sequenceLength: Int
    public var stepSeconds: Double
    public var trainingStart: Date
    public var trainingEnd: Date
    public var testMetrics: ForecastMetrics?
    public var baselineMetrics: [String: ForecastMetrics]
    public var createdAt: Date
    public var parameterCount: Int
    /// Whether inputs and targets are taken relative to each window's level (absent in
    /// artefacts written before it existed: false).
    public var levelNormalization: Bool?
    /// Rows averaged into a window's level (absent: 1).
    public var levelSpan: Int?
    /// The covariates the model reads beside the target, by name (a policy's
    /// `spec.metrics.inputs`); absent in models trained before inputs existed.
    public var inputColumns: [String]?
    /// Split-conformal offsets added to each quantile's forecast, per horizon step (rows)
    /// and quantile (columns), in the target's units: the quantile of the calibration
    /// residuals (actual − forecast) at that quantile's level, so a p80 covers ~80 % of
    /// outcomes. Absent in models trained before calibration existed (no offsets).
    public var calibration: [[Float]]?
    /// The share of test outcomes at or below each quantile's calibrated forecast, at the
    /// first and last horizon step (quantile order), as measured when it was trained.
    public var testCoverage: [Float]?
    /// Which forecaster serves (the LSTM or a classical one) and the scores it won by;
    /// absent: the LSTM.
    public var selection: ModelSelection?

    /// The raw columns a forecast needs besides the target: the recorded inputs, or (older
    /// artefacts) every feature that is neither the target nor derived.
    public var requiredInputs: [String] {
        inputColumns ?? featureNames.filter { $0 != targetColumn && !FeatureBuilder.derivedColumns.contains($0) }
    }

    public init(
        network: NetworkConfiguration, featureSet: String, featureNames: [String], targetColumn: String,
        scaler: MinMaxScaler,
        sequenceLength: Int, stepSeconds: Double, trainingStart: Date, trainingEnd: Date, testMetrics: ForecastMetrics?,
        baselineMetrics: [String: ForecastMetrics], createdAt: Date, parameterCount: Int, levelNormalization: Bool,
        levelSpan: Int = 1
    ) {
        self.levelSpan = levelSpan
        self.levelNormalization = levelNormalization
        self.network = network
        self.featureSet = featureSet
        self.featureNames = featureNames
        self.targetColumn = targetColumn
        self.scaler = scaler
        self.sequenceLength = sequenceLength
        self.stepSeconds = stepSeconds
        self.trainingStart = trainingStart
        self.trainingEnd = trainingEnd
        self.testMetrics = testMetrics
        self.baselineMetrics = baselineMetrics
        self.createdAt = createdAt
        self.parameterCount = parameterCount
    }

    public var horizon: Int { network.horizon }
    public var quantiles: [Float] { network.quantiles }
}

/// A trained model on disk:
///
///     magic "FSCMODEL" (8 bytes) | format version (UInt32 LE) | header length (UInt32 LE)
///     | header (JSON, UTF-8) | weights (parameterCount × Float32 LE) | SHA-256 of all before (32 bytes)
///
/// Written atomically (temporary file, fsync, rename).
public struct ModelArtefact: Sendable {
    public static let magic = Array("FSCMODEL".utf8)
    /// 2: the header may carry `calibration`, `testCoverage` and `selection` (version-1
    /// files load unchanged: those fields are absent).
    public static let formatVersion: UInt32 = 2

    public var header: ModelHeader
    public var parameters: [Float]

    public init(header: ModelHeader, parameters: [Float]) {
        self.header = header
        self.parameters = parameters
    }

    public enum LoadError: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String)
        case notAnArtefact(path: String)
        case unsupportedVersion(path: String, found: UInt32)
        case truncated(path: String)
        case checksumMismatch(path: String)
        /// Intact (checksum good) but not a model this code can run, or an unreadable header.
        case badHeader(path: String, detail: String)

        public var description: String {
            switch self {
            case .unreadable(let path):
                "\(path): cannot read the model file"
            case .notAnArtefact(let path):
                "\(path): not a Forescale model (bad magic number); pass a file written by 'forescale train'"
            case .unsupportedVersion(let path, let found):
                "\(path): model format version \(found) is newer than this forescale supports "
                    + "(\(ModelArtefact.formatVersion)); upgrade forescale or retrain the model with this version"
            case .truncated(let path):
                "\(path): the model file is truncated; copy it again or retrain"
            case .checksumMismatch(let path):
                "\(path): checksum mismatch, the model file is corrupt; copy it again or retrain"
            case .badHeader(let path, let detail):
                "\(path): bad model header: \(detail); retrain the model"
            }
        }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let headerData = try encoder.encode(header)
        var data = Data(Self.magic)
        appendLittleEndian(Self.formatVersion, to: &data)
        appendLittleEndian(UInt32(headerData.count), to: &data)
        data.append(headerData)
        parameters.withUnsafeBytes { data.append(contentsOf: $0) }
        let digest = data.withUnsafeBytes { raw -> [UInt8] in
            var hasher = SHA256()
            hasher.update(raw)
            return hasher.finalize()
        }
        data.append(contentsOf: digest)
        return data
    }

    public func write(to path: String) throws {
        try AtomicFile.write(try encoded(), to: path)
    }

    public static func load(path: String) throws(LoadError) -> ModelArtefact {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
        return try decode(data, path: path)
    }

    /// Checks, in order: magic and version; that the header length fits the file; the
    /// checksum of everything before it; the header's structure against `ModelLimits`
    /// (sizes, parameter count recomputed from the architecture, scaler and feature lists);
    /// that the weight bytes match the parameter count; that every weight is finite. Nothing
    /// is allocated from a header value before it has passed its check.
    public static func decode(_ data: Data, path: String) throws(LoadError) -> ModelArtefact {
        let bytes = [UInt8](data)
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else {
            throw bytes.count < 16 && magic.starts(with: bytes.prefix(8))
                ? .truncated(path: path) : .notAnArtefact(path: path)
        }
        let version = readLittleEndian(bytes, at: 8)
        guard version <= formatVersion, version >= 1 else { throw .unsupportedVersion(path: path, found: version) }
        let headerLength = Int(readLittleEndian(bytes, at: 12))
        guard headerLength <= bytes.count - 16 - SHA256.digestSize else { throw .truncated(path: path) }
        let body = bytes.count - SHA256.digestSize
        let expected = Array(bytes[body...])
        let actual = bytes.withUnsafeBytes { raw -> [UInt8] in
            var hasher = SHA256()
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<body]))
            return hasher.finalize()
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let header: ModelHeader
        do {
            guard ModelLimits.headerBytes.contains(headerLength) else { throw ModelHeaderSizeError() }
            header = try decoder.decode(ModelHeader.self, from: Data(bytes[16..<(16 + headerLength)]))
        } catch {
            throw actual == expected ? .badHeader(path: path, detail: "\(error)") : .checksumMismatch(path: path)
        }
        let weightBytes = body - 16 - headerLength
        // A header that asks for more weights than the file holds: truncated, whatever its checksum.
        if actual != expected {
            let needed = header.parameterCount.multipliedReportingOverflow(by: 4)
            throw !needed.overflow && needed.partialValue > weightBytes
                ? .truncated(path: path) : .checksumMismatch(path: path)
        }
        let problems = header.structuralProblems
        guard problems.isEmpty else { throw .badHeader(path: path, detail: problems.joined(separator: "; ")) }
        guard weightBytes == header.parameterCount * 4 else {
            throw .badHeader(
                path: path,
                detail:
                    "\(weightBytes) bytes of weights for parameterCount \(header.parameterCount) "
                    + "(\(header.parameterCount * 4) bytes)"
            )
        }
        var parameters = [Float](repeating: 0, count: header.parameterCount)
        parameters.withUnsafeMutableBytes { destination in
            bytes.withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(16 + headerLength)..<body]))
            }
        }
        if let index = parameters.firstIndex(where: { !$0.isFinite }) {
            throw .badHeader(path: path, detail: "weight \(index) is \(parameters[index]); every weight must be finite")
        }
        return ModelArtefact(header: header, parameters: parameters)
    }
}

private struct ModelHeaderSizeError: Error, CustomStringConvertible {
    var description: String {
        "header length outside \(ModelLimits.headerBytes.lowerBound)…\(ModelLimits.headerBytes.upperBound) bytes"
    }
}

private func appendLittleEndian(_ value: UInt32, to data: inout Data) {
    withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
}

private func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3])
        << 24
}
