import Autoscaler
import Commands
import Foundation
import Simulation

/// The `forescale` executable: the product's commands, the backtest, and the simulation as a target plug-in (so
/// `forescale controller` and `forescale trainer` run Simulated policies, which the images refuse). The lab's
/// commands (demo, soak, bench, …) are in `forescale-lab`; `forescale demo` runs it from beside this executable,
/// as `git foo` runs `git-foo`.
public enum ForescaleCLI {
    package static let commands: [any Subcommand.Type] =
        [SimulatingControllerCommand.self, SimulatingTrainerCommand.self, BacktestCommand.self]
        + CommandLineTool.productCommands.filter { $0.name != ControllerCommand.name && $0.name != RetrainCommand.name }

    public static func main(_ words: [String]) async -> Int32 {
        await CommandLineTool.main(
            words, commands: commands,
            more: "\nThe lab (demo, soak, bench, simulator, fault-proxy, apiserver) runs from forescale-lab;\n"
                + "'forescale demo' and the others are handed to it.\n",
            otherwise: runLab)
    }

    /// Hands a lab command to `forescale-lab` in this executable's directory (nil: no such executable).
    static func runLab(_ name: String, _ words: [String]) async -> Int32? {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let lab = directory.appendingPathComponent("forescale-lab").path
        guard FileManager.default.isExecutableFile(atPath: lab) else { return nil }
        let arguments = [lab, name] + words
        var argv = arguments.map { strdup($0) } + [nil]
        execv(lab, &argv)
        printError("forescale: cannot run \(lab): \(String(cString: strerror(errno)))")
        return ExitCode.failure
    }

    /// Simulated targets replayed in this process; the lab adds a shared simulator.
    package static let simulation = TargetPluginOption(usage: "") { _ in
        { anchor, _ in SimulationPlugin(anchor: anchor) }
    }
}

/// `forescale controller`: the product controller with the simulation plug-in.
enum SimulatingControllerCommand: Subcommand {
    static let name = ControllerCommand.name
    static let summary = ControllerCommand.summary
    static let usage = ControllerCommand.usage + "\nSimulated targets replay their trace in this process."

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        try await ControllerCommand.run(&arguments, plugin: ForescaleCLI.simulation)
    }
}

/// `forescale trainer`: the product trainer with the simulation plug-in (a Simulated policy trains on its trace).
enum SimulatingTrainerCommand: Subcommand {
    static let name = RetrainCommand.name
    static let summary = RetrainCommand.summary
    static let usage = RetrainCommand.usage

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        try await RetrainCommand.run(&arguments, plugin: ForescaleCLI.simulation)
    }
}

/// Files of the repository (models, traces) found from where a built executable runs.
package enum RepositoryFiles {
    /// A path relative to the working directory, else relative to the repository this
    /// executable was built in (.build/<triple>/<configuration>/forescale, reached through
    /// the .build/<configuration> symlink or not): the nearest ancestor that has it.
    package static func locate(_ relative: String) -> String {
        if FileManager.default.fileExists(atPath: relative) { return relative }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            directory = directory.deletingLastPathComponent()
        }
        return relative
    }
}
