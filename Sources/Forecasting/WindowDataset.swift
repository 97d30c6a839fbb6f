/// Sliding windows over a scaled feature matrix: the input of window i is rows
/// `i − sequenceLength ..< i`, its targets the target column at rows `i ..< i + horizon`.
/// Windows are split chronologically by the row of their first target.
public struct WindowDataset: Sendable {
    public let features: [Float]        // (rows, F), scaled
    public let targets: [Float]         // (rows), scaled
    public let featureCount: Int
    public let sequenceLength: Int
    public let horizon: Int
    /// First-target rows of the windows in each split.
    public let train: [Int]
    public let validation: [Int]
    public let test: [Int]

    public init(features: [Float], targets: [Float], featureCount: Int, sequenceLength: Int, horizon: Int, trainEnd: Int, validationEnd: Int) {
        self.features = features
        self.targets = targets
        self.featureCount = featureCount
        self.sequenceLength = sequenceLength
        self.horizon = horizon
        let rows = targets.count
        let all = Array(sequenceLength...(rows - horizon))
        // A window belongs to a split only if all its targets do (no leakage across the cut).
        train = all.filter { $0 + horizon <= trainEnd }
        validation = all.filter { $0 >= trainEnd && $0 + horizon <= validationEnd }
        test = all.filter { $0 >= validationEnd }
    }

    /// Time-major input (T, B, F) and targets (B, H) for the windows `batch`.
    public func batch(_ windows: ArraySlice<Int>, input: inout [Float], target: inout [Float]) {
        let b = windows.count, f = featureCount
        input.removeAll(keepingCapacity: true)
        input.reserveCapacity(sequenceLength * b * f)
        target.removeAll(keepingCapacity: true)
        features.withUnsafeBufferPointer { rows in
            for step in 0..<sequenceLength {
                for window in windows {
                    let row = window - sequenceLength + step
                    input.append(contentsOf: rows[(row * f)..<(row * f + f)])
                }
            }
        }
        for window in windows {
            target.append(contentsOf: targets[window..<(window + horizon)])
        }
    }
}
