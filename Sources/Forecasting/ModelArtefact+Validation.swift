import Foundation

/// The bounds an artefact's header must respect before anything is allocated from it. A
/// file that passes its checksum is intact, not necessarily sane: it may have been written
/// by a buggy or hostile tool. Generous for real models (the prototype recipe is 3×128 with
/// 16 inputs and ~340,000 parameters), far below what would exhaust memory.
public enum ModelLimits {
    public static let inputSize = 1...512
    public static let hiddenSize = 1...2048
    public static let layers = 1...8
    public static let headSize = 1...4096
    /// Steps forecast in one pass (a week of 5-minute steps).
    public static let horizon = 1...2016
    public static let quantileCount = 0...32
    public static let sequenceLength = 1...4096
    public static let stepSeconds = 1.0...86_400.0
    /// 64 Mi parameters (256 MiB of float32).
    public static let parameterCount = 1...(64 << 20)
    public static let headerBytes = 2...(4 << 20)
    /// The largest artefact file: header, weights and framing at their limits.
    public static let fileBytes = 16 + headerBytes.upperBound + 4 * parameterCount.upperBound + 32
}

extension ModelHeader {
    /// Every structural problem of the header, each naming its field; empty when the header
    /// describes a model this code can run. Pure arithmetic, nothing allocated from the values.
    public var structuralProblems: [String] {
        var problems: [String] = []
        func check<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ field: String) {
            if !range.contains(value) {
                problems.append("\(field) is \(value), must be in \(range.lowerBound)…\(range.upperBound)")
            }
        }
        check(network.inputSize, ModelLimits.inputSize, "network.inputSize")
        check(network.hiddenSize, ModelLimits.hiddenSize, "network.hiddenSize")
        check(network.layers, ModelLimits.layers, "network.layers")
        check(network.headSize, ModelLimits.headSize, "network.headSize")
        check(network.horizon, ModelLimits.horizon, "network.horizon")
        check(network.quantiles.count, ModelLimits.quantileCount, "the number of network.quantiles")
        if !(network.dropout.isFinite && network.dropout >= 0 && network.dropout < 1) {
            problems.append("network.dropout is \(network.dropout), must be in [0, 1)")
        }
        if let bad = network.quantiles.first(where: { !($0 > 0 && $0 < 1) }) {
            problems.append("network.quantiles holds \(bad), each must be in (0, 1)")
        }
        if Set(network.quantiles).count != network.quantiles.count {
            problems.append("network.quantiles has duplicates")
        }
        check(sequenceLength, ModelLimits.sequenceLength, "sequenceLength")
        if !stepSeconds.isFinite || !ModelLimits.stepSeconds.contains(stepSeconds) {
            problems.append(
                "stepSeconds is \(stepSeconds), must be in "
                    + "\(Int(ModelLimits.stepSeconds.lowerBound))…\(Int(ModelLimits.stepSeconds.upperBound))"
            )
        }
        if let levelSpan, levelSpan < 1 || levelSpan > sequenceLength {
            problems.append("levelSpan is \(levelSpan), must be in 1…sequenceLength")
        }
        if featureNames.count != network.inputSize {
            problems.append("featureNames has \(featureNames.count) names for network.inputSize \(network.inputSize)")
        }
        if Set(featureNames).count != featureNames.count { problems.append("featureNames has duplicates") }
        if !featureNames.contains(targetColumn) {
            problems.append("targetColumn \"\(targetColumn)\" is not among featureNames")
        }
        if FeatureSet(rawValue: featureSet) == nil {
            problems.append("featureSet \"\(featureSet)\" is unknown (basic, advanced, calendar)")
        }
        if scaler.minimum.count != featureNames.count || scaler.maximum.count != featureNames.count {
            problems.append(
                "scaler has \(scaler.minimum.count) minima and \(scaler.maximum.count) maxima for "
                    + "\(featureNames.count) features"
            )
        } else if zip(scaler.minimum, scaler.maximum).contains(where: { !$0.isFinite || !$1.isFinite || $1 < $0 }) {
            problems.append("scaler holds a non-finite value or a maximum below its minimum")
        }
        if trainingEnd < trainingStart { problems.append("trainingEnd is before trainingStart") }
        if let statistical = selection?.statistical {
            if statistical.quantiles != network.quantiles {
                problems.append("selection.statistical.quantiles must be network.quantiles")
            }
            if statistical.residualQuantiles.count != network.horizon
                || statistical.residualQuantiles.contains(where: { $0.count != statistical.quantiles.count })
            {
                problems.append(
                    "selection.statistical.residualQuantiles must have network.horizon rows of one per quantile")
            }
            if statistical.residualQuantiles.contains(where: { $0.contains { !$0.isFinite } })
                || statistical.parameters.count > 8 || statistical.parameters.contains(where: { !$0.isFinite })
            {
                problems.append("selection.statistical holds a non-finite value or more than 8 parameters")
            }
            if !(1...ModelLimits.horizon.upperBound).contains(statistical.season) {
                problems.append("selection.statistical.season must be in 1…\(ModelLimits.horizon.upperBound)")
            }
            problems += combinationProblems(statistical)
        }
        if let calibration {
            if calibration.count != network.horizon
                || calibration.contains(where: { $0.count != network.quantiles.count })
            {
                problems.append("calibration must have network.horizon rows of one offset per quantile")
            } else if calibration.contains(where: { $0.contains { !$0.isFinite } }) {
                problems.append("calibration holds a non-finite offset")
            }
        }
        if let inputColumns {
            if inputColumns.count > 16 || Set(inputColumns).count != inputColumns.count
                || !inputColumns.allSatisfy(featureNames.contains)
                || inputColumns.contains(targetColumn)
            {
                problems.append("inputColumns must be at most 16 distinct feature names other than the target")
            }
        }
        if problems.isEmpty {
            // The ranges above keep every product far from overflow; this is the layout
            // `ForecasterNetwork` builds, recomputed without building it.
            let expected = Self.parameterCount(of: network)
            if expected != parameterCount {
                problems.append("parameterCount is \(parameterCount), the architecture has \(expected)")
            } else if !ModelLimits.parameterCount.contains(parameterCount) {
                problems.append(
                    "parameterCount is \(parameterCount), must be in "
                        + "\(ModelLimits.parameterCount.lowerBound)…\(ModelLimits.parameterCount.upperBound)"
                )
            }
        }
        return problems
    }

    /// The number of parameters of `network` (LSTM layers, two dense layers, attention).
    /// Call only on a configuration within `ModelLimits`.
    static func parameterCount(of network: NetworkConfiguration) -> Int {
        let hidden = network.hiddenSize
        var count = 0
        for layer in 0..<network.layers {
            let input = layer == 0 ? network.inputSize : hidden
            count += 4 * hidden * (input + hidden + 2)
        }
        count += network.headSize * (hidden + 1)
        count += network.outputCount * (network.headSize + 1)
        if network.usesAttention { count += hidden }
        return count
    }
}

extension ModelHeader {
    /// A combination holds 2…5 fitted candidates (none itself a combination, each with at
    /// most 8 finite parameters and the combination's season) and, when weighted, one finite
    /// non-negative weight per member; anything else holds no members.
    func combinationProblems(_ statistical: StatisticalModel) -> [String] {
        let members = statistical.components ?? []
        guard statistical.kind == .combination else {
            return members.isEmpty && statistical.weights == nil
                ? [] : ["selection.statistical has components but is not a combination"]
        }
        var problems: [String] = []
        if !(2...5).contains(members.count) {
            problems.append("selection.statistical.components must hold 2…5 forecasters")
        }
        if members.contains(where: {
            $0.kind == .combination || $0.components != nil || $0.season != statistical.season
                || $0.parameters.count > 8 || $0.parameters.contains { !$0.isFinite }
        }) {
            problems.append(
                "selection.statistical.components must be plain forecasters of the same season with at most 8 finite "
                    + "parameters")
        }
        if let weights = statistical.weights,
            weights.count != members.count || weights.contains(where: { !$0.isFinite || $0 < 0 })
        {
            problems.append("selection.statistical.weights must be one finite non-negative weight per component")
        }
        return problems
    }
}
