import Foundation

/// Kubernetes wire timestamps: `metav1.Time` is RFC 3339 in whole seconds (`…T06:00:00Z`),
/// `metav1.MicroTime` carries six decimals (`…T06:00:00.123456Z`). Formatting is done by hand
/// with `gmtime_r` so it is cheap and thread-safe.
public enum Timestamps {
    public static func format(_ date: Date) -> String {
        let (fields, _) = breakDown(date)
        return digits(fields) + "Z"
    }

    public static func formatMicro(_ date: Date) -> String {
        let (fields, micros) = breakDown(date)
        return digits(fields) + "." + padded(Int(micros), 6) + "Z"
    }

    /// `YYYY-MM-DDTHH:MM:SS` without Foundation's format parser (a hot path in controllers).
    private static func digits(_ fields: tm) -> String {
        padded(Int(fields.tm_year) + 1900, 4) + "-" + padded(Int(fields.tm_mon) + 1, 2) + "-"
            + padded(Int(fields.tm_mday), 2) + "T"
            + padded(Int(fields.tm_hour), 2) + ":" + padded(Int(fields.tm_min), 2) + ":" + padded(Int(fields.tm_sec), 2)
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    private static func breakDown(_ date: Date) -> (tm, Int32) {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        var micros = Int32(((interval - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            seconds += 1
            micros -= 1_000_000
        }
        var fields = tm()
        gmtime_r(&seconds, &fields)
        return (fields, micros)
    }

    /// Parses RFC 3339 with optional fraction and `Z` or a numeric offset.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int? {
            guard start + length <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + length] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), bytes[4] == 45, let month = number(5, 2), bytes[7] == 45, let day = number(8, 2),
            bytes[10] == 84 || bytes[10] == 116 || bytes[10] == 32,
            let hour = number(11, 2), bytes[13] == 58, let minute = number(14, 2), bytes[16] == 58,
            let second = number(17, 2)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case 90, 122: index += 1
        case 43, 45:
            guard let hours = number(index + 1, 2), bytes.count > index + 3, bytes[index + 3] == 58,
                let minutes = number(index + 4, 2)
            else { return nil }
            offset = (hours * 60 + minutes) * 60 * (bytes[index] == 45 ? -1 : 1)
            index += 6
        default: return nil
        }
        guard index == bytes.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
            second < 61
        else { return nil }
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(month - 1)
        fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(hour)
        fields.tm_min = Int32(minute)
        fields.tm_sec = Int32(second)
        let epoch = timegm(&fields)
        return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
    }
}
