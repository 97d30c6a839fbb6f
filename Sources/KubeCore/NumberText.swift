import Foundation

extension Double {
    /// Rounded to a whole number, as text, for any value: a load or an error measured from
    /// outside can be 1e300, and converting that to `Int` traps. Beyond 10¹⁵ it is written
    /// with four significant digits.
    public var wholeNumberText: String {
        guard isFinite else { return isNaN ? "NaN" : self > 0 ? "∞" : "-∞" }
        let whole = rounded()
        return abs(whole) < 1e15 ? String(Int(whole)) : String(format: "%.4g", whole)
    }
}
