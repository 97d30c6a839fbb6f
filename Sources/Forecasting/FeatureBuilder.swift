/// Builds the model's input columns from a table.
public enum FeatureSet: String, Codable, Sendable, CaseIterable {
    /// The prototype's four: cpu_utilization, network_in, request_count, is_sale_active —
    /// or, for a univariate trace, the target column alone.
    case basic
}

public struct PreparedData: Sendable {
    public var dataset: WindowDataset
    public var scaler: MinMaxScaler
    public var featureNames: [String]
    public var targetColumn: String
    /// Index of the target inside the feature columns (for unscaling).
    public var targetFeatureIndex: Int
}

public enum FeatureBuilder {
    public static let indicatorColumns: Set<String> = ["is_sale_active"]
    public static let prototypeColumns = ["cpu_utilization", "network_in", "request_count", "is_sale_active"]

    public enum FeatureError: Error, CustomStringConvertible {
        case missingColumn(String, available: [String])
        case tooShort(rows: Int, needed: Int)

        public var description: String {
            switch self {
            case .missingColumn(let name, let available): "no column '\(name)' (columns: \(available.joined(separator: ", ")))"
            case .tooShort(let rows, let needed): "\(rows) rows is too short: at least \(needed) are needed"
            }
        }
    }

    /// Builds scaled features and windows. `scaler` (from a model) is reused as is; without
    /// one, a scaler is fit on the training rows only.
    public static func prepare(_ table: TimeSeriesTable, targetColumn: String, features: FeatureSet, configuration: TrainingConfiguration, scaler given: MinMaxScaler? = nil, minimumRows: Int? = nil) throws(FeatureError) -> PreparedData {
        guard table.columns[targetColumn] != nil else { throw .missingColumn(targetColumn, available: table.columnNames) }
        let names: [String]
        switch features {
        case .basic:
            let available = prototypeColumns.allSatisfy { table.columns[$0] != nil }
            names = available ? prototypeColumns : [targetColumn]
        }
        let rows = table.count
        let needed = configuration.sequenceLength + configuration.horizon + 20
        let required = minimumRows ?? needed * 3
        guard rows >= required else { throw .tooShort(rows: rows, needed: required) }
        let f = names.count
        var raw = [Float](repeating: 0, count: rows * f)
        for (column, name) in names.enumerated() {
            let values = table.columns[name]!
            for row in 0..<rows { raw[row * f + column] = values[row] }
        }
        let trainEnd = Int(Double(rows) * configuration.trainFraction)
        let validationEnd = Int(Double(rows) * (configuration.trainFraction + configuration.validationFraction))
        let scaler = given ?? MinMaxScaler(fitting: raw[0..<(trainEnd * f)], columns: f)
        let scaled = raw.enumerated().map { scaler.scale($0.element, column: $0.offset % f) }
        let targetIndex = names.firstIndex(of: targetColumn) ?? 0
        let targets = (0..<rows).map { scaled[$0 * f + targetIndex] }
        // Indicator columns (0/1 flags) keep their absolute value; load-like columns follow the level.
        let levelFeatures = configuration.levelNormalization ? names.map { !indicatorColumns.contains($0) } : []
        let dataset = WindowDataset(features: scaled, targets: targets, featureCount: f, sequenceLength: configuration.sequenceLength,
                                    horizon: configuration.horizon, trainEnd: trainEnd, validationEnd: validationEnd,
                                    levelFeatures: levelFeatures, targetFeature: names.firstIndex(of: targetColumn) ?? 0)
        return PreparedData(dataset: dataset, scaler: scaler, featureNames: names, targetColumn: targetColumn, targetFeatureIndex: targetIndex)
    }
}
