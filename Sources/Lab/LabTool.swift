import Autoscaler
import CLI
import Commands
import Foundation
import Simulation

/// The `forescale-lab` executable: the laboratory (demo, soak, benchmarks, shared simulator, fault proxy,
/// embedded API server) and every `forescale` command, its controller able to keep simulated capacity in a shared
/// simulator (`--simulator-url`).
public enum LabTool {
    static let commands: [any Subcommand.Type] =
        [
            DemoCommand.self, LabControllerCommand.self, APIServerCommand.self, BenchCommand.self,
            SimulatorCommand.self, FaultProxyCommand.self, SoakCommand.self,
        ] + ForescaleCLI.commands.filter { $0.name != ControllerCommand.name }

    public static func main(_ words: [String]) async -> Int32 {
        await CommandLineTool.main(words, tool: "forescale-lab", commands: commands)
    }

    /// The simulation, its capacity in a shared `forescale simulator` when `--simulator-url` is given.
    static let sharedSimulation = TargetPluginOption(
        usage: """
            --simulator-url: Simulated targets keep their capacity in a `forescale simulator`
            every replica shares (else in this process). --simulated-fast-checks: their replayed
            load answers fast checks too (the trace's current step), as a live source would.
            """
    ) { arguments in
        let liveSamples = arguments.flag("simulated-fast-checks")
        guard let url = try arguments.option("simulator-url") else {
            guard !liveSamples else { throw UsageError("--simulated-fast-checks needs --simulator-url") }
            return { anchor, _ in SimulationPlugin(anchor: anchor) }
        }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw UsageError("--simulator-url must be an http:// or https:// URL")
        }
        return { anchor, identity in
            SharedSimulationPlugin(anchor: anchor, url: url, identity: identity, liveSamples: liveSamples)
        }
    }
}

/// `forescale-lab controller`: the controller with the shared-simulator option.
enum LabControllerCommand: Subcommand {
    static let name = ControllerCommand.name
    static let summary = ControllerCommand.summary
    static let usage = ControllerCommand.usage + "\n" + LabTool.sharedSimulation.usage

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        try await ControllerCommand.run(&arguments, plugin: LabTool.sharedSimulation)
    }
}
