import Foundation

/// Builds the model's input columns from a table.
public enum FeatureSet: String, Codable, Sendable, CaseIterable {
    /// The prototype's four: cpu_utilization, network_in, request_count, is_sale_active —
    /// or, for a univariate trace, the target column alone.
    case basic
    /// The prototype's sixteen "advanced" (basic + hour, day of week, weekend, business
    /// hours, time-of-day category, 30-minute rolling mean/std/min/max and rate of change
    /// of the target, rolling means of network and requests) plus sin/cos of the time of
    /// day and of the week.
    case advanced
    /// `advanced` plus the business calendar: event active, time until the next event, multiplier.
    case calendar
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
    /// Columns that are not a load level (flags, clock, spreads, differences): they keep
    /// their absolute scaled value under level normalisation.
    public static let indicatorColumns: Set<String> = [
        "is_sale_active", "hour", "day_of_week", "is_weekend", "is_business_hours", "time_of_day",
        "target_rolling_std", "target_rate_of_change", "sin_day", "cos_day", "sin_week", "cos_week",
        "event_active", "event_until_next", "event_multiplier",
    ]

    /// Every column `derive` computes (never a raw input's name).
    public static let derivedColumns: Set<String> = [
        "hour", "day_of_week", "is_weekend", "is_business_hours", "time_of_day", "target_rolling_mean",
        "target_rolling_std", "target_rolling_min", "target_rolling_max", "target_rate_of_change",
        "network_rolling_mean", "requests_rolling_mean", "sin_day", "cos_day", "sin_week", "cos_week",
        "event_active", "event_until_next", "event_multiplier",
    ]

    /// Adds the derived columns of `features` to the table and returns the model's column list.
    /// `inputs` names the covariates beside the target (a policy's `spec.metrics.inputs`);
    /// nil keeps the prototype's rule: its four columns when the table has them.
    static func derive(
        _ features: FeatureSet, from table: TimeSeriesTable, target: String, inputs: [String]?, events: [CalendarEvent]
    ) -> ([String], TimeSeriesTable) {
        let hasPrototypeColumns = inputs == nil && prototypeColumns.allSatisfy { table.columns[$0] != nil }
        // The target is always an input (a `load` column beside the prototype's four is appended).
        let basic =
            inputs.map { [target] + $0 }
            ?? (hasPrototypeColumns ? prototypeColumns + (prototypeColumns.contains(target) ? [] : [target]) : [target])
        guard features != .basic else { return (basic, table) }
        var table = table
        var names = basic
        func add(_ name: String, _ values: [Float]) {
            table.columns[name] = values
            names.append(name)
        }
        let calendar = TimeSeriesTable.utcCalendar
        let hours = table.timestamps.map {
            Float(calendar.component(.hour, from: $0)) + Float(calendar.component(.minute, from: $0)) / 60
        }
        let weekdays = table.timestamps.map { Float((calendar.component(.weekday, from: $0) + 5) % 7) }  // Monday = 0
        add("hour", hours.map { $0.rounded(.down) })
        add("day_of_week", weekdays)
        add("is_weekend", weekdays.map { $0 >= 5 ? 1 : 0 })
        add("is_business_hours", zip(hours, weekdays).map { $0 >= 9 && $0 < 17 && $1 < 5 ? 1 : 0 })
        add("time_of_day", hours.map { $0 < 6 ? 0 : $0 < 12 ? 1 : $0 < 18 ? 2 : 3 })
        let step = table.timestamps.count > 1 ? table.timestamps[1].timeIntervalSince(table.timestamps[0]) : 300
        let span = max(1, Int((1800 / step).rounded()))
        let values = table.columns[target]!
        add("target_rolling_mean", rolling(values, span) { $0.reduce(0, +) / Float($0.count) })
        add(
            "target_rolling_std",
            rolling(values, span) { window in
                let mean = window.reduce(0, +) / Float(window.count)
                return (window.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(window.count)).squareRoot()
            })
        add("target_rolling_min", rolling(values, span) { $0.min()! })
        add("target_rolling_max", rolling(values, span) { $0.max()! })
        add("target_rate_of_change", values.indices.map { $0 == 0 ? 0 : values[$0] - values[$0 - 1] })
        if hasPrototypeColumns {
            add(
                "network_rolling_mean",
                rolling(table.columns["network_in"]!, span) { $0.reduce(0, +) / Float($0.count) })
            add(
                "requests_rolling_mean",
                rolling(table.columns["request_count"]!, span) { $0.reduce(0, +) / Float($0.count) })
        }
        for input in inputs ?? [] where !indicatorColumns.contains(input) {
            add("\(input)_rolling_mean", rolling(table.columns[input]!, span) { $0.reduce(0, +) / Float($0.count) })
        }
        add("sin_day", hours.map { Foundation.sin(2 * .pi * $0 / 24) })
        add("cos_day", hours.map { Foundation.cos(2 * .pi * $0 / 24) })
        add("sin_week", zip(hours, weekdays).map { Foundation.sin(2 * .pi * ($1 * 24 + $0) / 168) })
        add("cos_week", zip(hours, weekdays).map { Foundation.cos(2 * .pi * ($1 * 24 + $0) / 168) })
        if features == .calendar {
            let calendarFeatures = BusinessCalendar.features(for: table.timestamps, events: events)
            add("event_active", calendarFeatures.active)
            add("event_until_next", calendarFeatures.untilNext)
            add("event_multiplier", calendarFeatures.multiplier)
        }
        return (names, table)
    }

    /// Trailing window statistic over the last `span` values (fewer at the start).
    static func rolling(_ values: [Float], _ span: Int, _ statistic: (ArraySlice<Float>) -> Float) -> [Float] {
        values.indices.map { statistic(values[max(0, $0 - span + 1)...$0]) }
    }
    public static let prototypeColumns = ["cpu_utilization", "network_in", "request_count", "is_sale_active"]

    public enum FeatureError: Error, CustomStringConvertible {
        case missingColumn(String, available: [String])
        case tooShort(rows: Int, needed: Int)
        /// The rows cannot be put on a regular grid.
        case irregular(String)

        public var description: String {
            switch self {
            case .irregular(let problem): problem
            case .missingColumn(let name, let available):
                "no column '\(name)' (columns: \(available.joined(separator: ", ")))"
            case .tooShort(let rows, let needed): "\(rows) rows is too short: at least \(needed) are needed"
            }
        }
    }

    /// Builds scaled features and windows. `scaler` (from a model) is reused as is; without
    /// one, a scaler is fit on the training rows only.
    public static func prepare(
        _ table: TimeSeriesTable, targetColumn: String, features: FeatureSet, configuration: TrainingConfiguration,
        scaler given: MinMaxScaler? = nil, minimumRows: Int? = nil, events: [CalendarEvent] = [],
        inputs: [String]? = nil
    ) throws(FeatureError) -> PreparedData {
        for column in [targetColumn] + (inputs ?? []) where table.columns[column] == nil {
            throw .missingColumn(column, available: table.columnNames)
        }
        let (names, table) = derive(features, from: table, target: targetColumn, inputs: inputs, events: events)
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
        let dataset = WindowDataset(
            features: scaled, targets: targets, featureCount: f, sequenceLength: configuration.sequenceLength,
            horizon: configuration.horizon, trainEnd: trainEnd, validationEnd: validationEnd,
            levelFeatures: levelFeatures, targetFeature: names.firstIndex(of: targetColumn) ?? 0,
            levelSpan: configuration.levelSpan)
        return PreparedData(
            dataset: dataset, scaler: scaler, featureNames: names, targetColumn: targetColumn,
            targetFeatureIndex: targetIndex)
    }
}
