import Digest
import Forecasting
import Foundation

/// The `.fsm` loader: any bytes load or fail with a clear error; what loads can forecast
/// without trapping. Inputs that start with the magic number are loaded as they are; the
/// others are taken as (header length, header, weights) and framed with a valid checksum,
/// so the fuzzer reaches the structural checks behind the integrity check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArtefact(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Data(bytes: start, count: count)
    var file = input
    if !input.starts(with: ModelArtefact.magic), input.count >= 4 {
        let declared =
            Int(input[input.startIndex]) | Int(input[input.startIndex + 1]) << 8 | Int(input[input.startIndex + 2])
            << 16
        let headerLength = min(declared, input.count - 4)
        file = Data(ModelArtefact.magic)
        file.append(contentsOf: [1, 0, 0, 0])
        let length = UInt32(headerLength)
        file.append(contentsOf: [
            UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24),
        ])
        file.append(input.dropFirst(4))
        var hasher = SHA256()
        file.withUnsafeBytes { hasher.update($0) }
        file.append(contentsOf: hasher.finalize())
    }
    guard let artefact = try? ModelArtefact.decode(file, path: "fuzz") else { return 0 }
    let forecaster = Forecaster(artefact)
    let rows = artefact.header.sequenceLength + 2
    let step = artefact.header.stepSeconds
    let times = (0..<rows).map { Date(timeIntervalSince1970: 1_700_000_000 + Double($0) * step) }
    let names = artefact.header.featureNames
    let columns = Dictionary(uniqueKeysWithValues: names.map { ($0, [Float](repeating: 1, count: rows)) })
    _ = try? forecaster.forecast(TimeSeriesTable(timestamps: times, columns: columns, columnNames: names))
    return 0
}
