/// Sliding windows over a scaled feature matrix: the input of window i is rows
/// `i − sequenceLength ..< i`, its targets the target column at rows `i ..< i + horizon`.
/// Windows are split chronologically by the row of their first target.
///
/// Level normalisation: with `levelFeatures` set, each window's level features are taken
/// relative to their last value in the window, and targets relative to the target's last
/// value — the network predicts changes, not levels — so a load that leaves the training
/// range (a level that doubles, a group that drains) stays inside the range the network
/// has seen. `ForecastRunner` adds the level back. (The window mean, as in RevIN, was
/// tried first: it followed the level but lost to the naive forecast on a doubled level.)
public struct WindowDataset: Sendable {
    public let features: [Float]  // (rows, F), scaled
    public let targets: [Float]  // (rows), scaled
    public let featureCount: Int
    public let sequenceLength: Int
    public let horizon: Int
    /// First-target rows of the windows in each split.
    public let train: [Int]
    public let validation: [Int]
    public let test: [Int]
    /// Per feature: whether it is taken relative to its window mean (empty: none).
    public let levelFeatures: [Bool]
    /// The target's column among the features (its level is the target's level).
    public let targetFeature: Int
    /// How many of a window's last rows are averaged into its level (1: the last value).
    public let levelSpan: Int

    public init(
        features: [Float], targets: [Float], featureCount: Int, sequenceLength: Int, horizon: Int, trainEnd: Int,
        validationEnd: Int,
        levelFeatures: [Bool] = [], targetFeature: Int = 0, levelSpan: Int = 1
    ) {
        self.levelSpan = max(1, min(levelSpan, sequenceLength))
        self.levelFeatures = levelFeatures
        self.targetFeature = targetFeature
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

    public var isLevelNormalized: Bool { levelFeatures.contains(true) }

    /// Mean of feature `column` over the last `levelSpan` input rows of `window`.
    func windowLevel(_ window: Int, column: Int) -> Float {
        var sum: Float = 0
        for row in (window - levelSpan)..<window { sum += features[row * featureCount + column] }
        return sum / Float(levelSpan)
    }

    /// The level added back to the network's outputs for `window` (0 without normalisation).
    public func level(_ window: Int) -> Float {
        isLevelNormalized ? windowLevel(window, column: targetFeature) : 0
    }

    /// Time-major input (T, B, F) and level-relative targets (B, H) for the windows `batch`.
    public func batch(_ windows: ArraySlice<Int>, input: inout [Float], target: inout [Float]) {
        let b = windows.count
        let f = featureCount
        input.removeAll(keepingCapacity: true)
        input.reserveCapacity(sequenceLength * b * f)
        target.removeAll(keepingCapacity: true)
        let offsets: [[Float]] = windows.map { window in
            (0..<f).map { column in
                column < levelFeatures.count && levelFeatures[column] ? windowLevel(window, column: column) : 0
            }
        }
        features.withUnsafeBufferPointer { rows in
            for step in 0..<sequenceLength {
                for (index, window) in windows.enumerated() {
                    let row = window - sequenceLength + step
                    for column in 0..<f { input.append(rows[row * f + column] - offsets[index][column]) }
                }
            }
        }
        for window in windows {
            let level = level(window)
            target.append(contentsOf: targets[window..<(window + horizon)].map { $0 - level })
        }
    }

    /// Absolute (scaled) targets (B, H).
    public func absoluteTargets(_ windows: [Int]) -> [Float] {
        windows.flatMap { targets[$0..<($0 + horizon)] }
    }
}
