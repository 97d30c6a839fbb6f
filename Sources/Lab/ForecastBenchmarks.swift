import CLI
import Commands
import Forecasting
import Foundation
import KubeCore
import Simulation

enum TrainingBenchmark {
    static func run(dataPath: String, epochs: Int, threads: Int) throws -> [String: Any] {
        let table = try loadTable(dataPath)
        var configuration = TrainingConfiguration()
        configuration.epochs = epochs
        configuration.earlyStoppingPatience = epochs + 1
        let prepared: PreparedData
        do {
            prepared = try FeatureBuilder.prepare(
                table, targetColumn: "cpu_utilization", features: .basic, configuration: configuration)
        } catch { throw InputFileError(path: dataPath, problem: error.description) }
        var trainer = NetworkFit(configuration: configuration, inputSize: prepared.featureNames.count)
        var seconds: [Double] = []
        _ = trainer.train(prepared.dataset, workers: threads) { seconds.append($0.seconds) }
        let sorted = seconds.sorted()
        let median = sorted[sorted.count / 2]
        let flops = FMACeiling.epochFLOPs(
            configuration: trainer.network.configuration, sequenceLength: configuration.sequenceLength,
            windows: prepared.dataset.train.count)
        let ceiling = FMACeiling.measure(threads: threads)
        let achieved = flops / median / 1e9
        return [
            "benchmark": "train", "recipe": "seq 24, 3x128 LSTM, dropout 0.2, batch 64, lr 5e-4",
            "threads": threads, "epochs": epochs, "windows_per_epoch": prepared.dataset.train.count,
            "seconds_per_epoch": seconds, "seconds_per_epoch_median": median,
            "gflop_per_epoch": (flops / 1e8).rounded() / 10, "gflops": (achieved * 10).rounded() / 10,
            "gemm_kernel": GEMM.wideKernels.load(ordering: .relaxed) ? "avx512 (16-wide)" : "portable (8-wide)",
            "fma_ceiling_gflops": (ceiling * 10).rounded() / 10,
            "fraction_of_ceiling": (achieved / ceiling * 1000).rounded() / 1000,
        ]
    }
}

enum InferenceBenchmark {
    static func run(modelPath: String?, calls: Int) throws -> [String: Any] {
        var loadMilliseconds: Double? = nil
        let network: ForecasterNetwork
        let parameters: [Float]
        var sequenceLength = 24
        if let modelPath {
            let started = ContinuousClock.now
            let artefact: ModelArtefact
            do { artefact = try ModelArtefact.load(path: modelPath) } catch {
                throw InputFileError(path: modelPath, problem: error.description)
            }
            loadMilliseconds = (ContinuousClock.now - started).seconds * 1000
            network = ForecasterNetwork(artefact.header.network)
            parameters = artefact.parameters
            sequenceLength = artefact.header.sequenceLength
        } else {
            network = ForecasterNetwork(NetworkConfiguration(inputSize: 4))
            parameters = network.initialParameters(seed: 1)
        }
        var random = SeededRandom(seed: 5)
        let input = (0..<(sequenceLength * network.configuration.inputSize)).map { _ in random.unit() }
        let pass = network.makePass(steps: sequenceLength, batch: 1)
        let packed = network.packWeights(parameters)
        for _ in 0..<100 { network.forward(input, parameters: parameters, pass: pass, random: nil, prepacked: packed) }
        var latencies: [Double] = []
        latencies.reserveCapacity(calls)
        for _ in 0..<calls {
            let started = ContinuousClock.now
            network.forward(input, parameters: parameters, pass: pass, random: nil, prepacked: packed)
            latencies.append((ContinuousClock.now - started).seconds * 1000)
        }
        latencies.sort()
        var result: [String: Any] = [
            "benchmark": "infer", "calls": calls, "parameters": network.parameterCount,
            "latency_ms_p50": latencies[calls / 2], "latency_ms_p99": latencies[calls * 99 / 100],
        ]
        if let modelPath {
            // Load time of the artefact on its own (median of 5 fresh loads).
            var loads: [Double] = []
            for _ in 0..<5 {
                let started = ContinuousClock.now
                _ = try? ModelArtefact.load(path: modelPath)
                loads.append((ContinuousClock.now - started).seconds * 1000)
            }
            result["artefact_load_ms_first"] = loadMilliseconds
            result["artefact_load_ms_median"] = loads.sorted()[2]
        }
        return result
    }
}

/// A nightly retraining of N policies as the trainer Job does it, one after another: each
/// policy's load history (the synthetic generator, a different seed each, `days` days as
/// capacity-independent load) trained with the controller's recipe, with and without the
/// classical candidates and the selection, timed per policy.
enum TrainerBenchmark {
    static func run(policies: Int, days: Int, threads: Int) throws -> [String: Any] {
        let recipes: [(name: String, selects: Bool)] = [("controller", true), ("controller_lstm_only", false)]
        var results: [String: Any] = [:]
        for (name, selects) in recipes {
            var seconds: [Double] = []
            var served: [String: Int] = [:]
            for index in 0..<policies {
                let generated = SyntheticGenerator.generate(days: days, seed: UInt64(1000 + index))
                let load = generated.columns["cpu_utilization"]!.map { $0 * 4 }
                let table = TimeSeriesTable(
                    timestamps: generated.timestamps, columns: ["load": load], columnNames: ["load"])
                var recipe = TrainingRecipe.controller(horizon: 3, hasCalendar: false)
                recipe.workers = threads
                recipe.selectsModel = selects
                let started = ContinuousClock.now
                let outcome: TrainingOutcome
                do {
                    outcome = try Training.run(table: table, targetColumn: "load", recipe: recipe, createdAt: Date())
                } catch { throw UsageError("training policy \(index): \(error.description)") }
                seconds.append((ContinuousClock.now - started).seconds)
                served[outcome.artefact.header.selection?.served ?? "lstm", default: 0] += 1
            }
            let sorted = seconds.sorted()
            results[name] = [
                "seconds_total": (seconds.reduce(0, +) * 100).rounded() / 100,
                "seconds_per_policy_median": (sorted[sorted.count / 2] * 100).rounded() / 100,
                "seconds_per_policy_max": (sorted.last! * 100).rounded() / 100, "served": served,
            ]
        }
        return [
            "benchmark": "trainer", "policies": policies, "history_days": days, "threads": threads,
            "recipe": "controller: 1x32 LSTM, head 32, p50/p90, advanced features, 25 epochs, horizon 3",
            "recipes": results,
        ]
    }
}
