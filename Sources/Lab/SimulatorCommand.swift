import Autoscaler
import CLI
import Commands
import Foundation
import Simulation

/// `forescale simulator`: the shared world of simulated targets and its ledger.
enum SimulatorCommand: Subcommand {
    static let name = "simulator"
    static let summary = "serve simulated targets' capacity to every controller replica, with a ledger"
    static let usage = """
        Usage: forescale simulator [--ledger FILE] [--address 127.0.0.1] [--port 0]

        Keeps the capacity of Simulated targets outside the controllers, so every replica
        (forescale controller --simulator-url http://ADDRESS:PORT) acts on one world and a
        failover changes nothing. Every capacity change is appended to --ledger (a JSON line
        each, fsynced before the answer) with the controller's action id, its identity and
        the previous capacity; an action id seen before is recorded but not applied again.
        A restart replays the ledger. Loopback only unless --address says otherwise; there is
        no authentication (it is a test and demonstration component). Prints the bound port.
        """

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let ledger = try arguments.option("ledger")
        let address = try arguments.option("address") ?? "127.0.0.1"
        let port = try arguments.option("port", default: 0)
        try arguments.finish()
        guard (0...65535).contains(port) else { throw UsageError("--port must be between 0 and 65535") }
        let service: SimulatorService
        do {
            service = try SimulatorService(ledgerPath: ledger)
        } catch {
            throw InputFileError(path: ledger ?? "", problem: "\(error)")
        }
        let bound = try service.start(address: address, port: port)
        print(
            "forescale simulator: serving http://\(address):\(bound) (port \(bound)); ledger \(ledger ?? "in memory")")
        _ = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        service.shutdown()
        return ExitCode.success
    }
}
