import Autoscaler
import Cloud
import FileIO
import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine

/// `forescale trainer` and the `forescale-trainer` executable (the retraining Job).
public enum TrainerCommand: Subcommand {
    static let name = "trainer"
    static let summary = "retrain policies' models from their history, with a promotion gate"
    static let usage = """
        Usage: forescale-trainer (--policy NAMESPACE/NAME | --all [--namespace NS])
                                 [--kubeconfig F] [--history-days 14] [--margin 0.02]
                                 [--epochs 25] [--hidden 32] [--aws] [--now RFC3339] [--model-root DIR]...
                                 [--prometheus-url URL …]

        For each policy: reads its history window from its metrics source (simulated trace or
        CloudWatch) as capacity-independent load, trains a challenger on it (calendar features
        when the policy has a calendar), and evaluates challenger, current model (champion) and
        seasonal-naive on the same most-recent holdout. Promotes only if the challenger beats
        both by --margin: file:// artefacts are replaced atomically; s3:// artefacts get a new
        versioned key, then the pointer key the policy reads. Records the outcome in the policy
        status (status.training) and an Event (ModelPromoted / ModelRejected).
        --all shards policies by JOB_COMPLETION_INDEX / JOB_COMPLETIONS (an Indexed Job).
        file:// artefacts and simulation traces are read and written only under a --model-root
        (/PREFIX=DIR mounts DIR at PREFIX, as the controller's).
        Exit 0 when every policy trained (promoted or not), 1 if any failed.
        """

    public static func main(_ words: [String]) async -> Int32 {
        await CommandLineTool.main([name] + words)
    }

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        let policyKey = try arguments.option("policy")
        let all = arguments.flag("all")
        let namespace = try arguments.option("namespace")
        let kubeconfig = try arguments.option("kubeconfig")
        let historyDays = try arguments.option("history-days", default: 14.0)
        let margin = try arguments.option("margin", default: 0.02)
        let epochs = try arguments.option("epochs", default: 25)
        let hidden = try arguments.option("hidden", default: 32)
        let useAWS = arguments.flag("aws")
        let nowText = try arguments.option("now")
        let modelRoots = try arguments.options("model-root")
        let prometheus = try PrometheusOptions.parse(&arguments, environment: ProcessInfo.processInfo.environment)
        try arguments.finish()
        let fileRoots = FileRoots(modelRoots)
        guard fileRoots.roots.count == modelRoots.count else {
            throw UsageError("--model-root: every root (DIR or /PREFIX=DIR) must be an existing directory")
        }
        guard (policyKey != nil) != all else {
            throw UsageError("give exactly one of --policy NAMESPACE/NAME and --all")
        }
        guard historyDays > 0, historyDays <= 366, margin >= 0, margin < 1, (1...1000).contains(epochs),
            ModelLimits.hiddenSize.contains(hidden)
        else {
            throw UsageError(
                "--history-days must be in (0, 366], --epochs in 1…1000, --hidden in 1…2048 and --margin in [0, 1)")
        }
        // The one wall-clock read: everything below takes this time (or --now) as given.
        let now: Date
        if let nowText {
            guard let parsed = Timestamps.parse(nowText) else { throw UsageError("--now must be an RFC 3339 time") }
            now = parsed
        } else {
            now = Date()
        }
        var environment = ProcessInfo.processInfo.environment
        if let kubeconfig { environment["KUBECONFIG"] = kubeconfig }
        let connection: ClusterConnection
        do { connection = try KubeConfigLoader(environment: environment).resolve() } catch {
            throw UsageError("\(error)")
        }
        let client = KubernetesClient(connection: connection, fieldManager: "forescale-trainer")
        defer { client.shutdown() }
        let aws: (@Sendable (String) async throws -> AWSClient)? = useAWS ? AWSClients().client(region:) : nil
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let s3 = AWSClients.s3(aws, region: region)

        var policies: [JSONValue]
        if let policyKey {
            let parts = policyKey.split(separator: "/").map(String.init)
            guard parts.count == 2 else { throw UsageError("--policy takes NAMESPACE/NAME") }
            policies = [try await client.get(.scalingPolicies, namespace: parts[0], name: parts[1])]
        } else {
            policies = try await client.listAll(.scalingPolicies, namespace: namespace).items
            let index = Int(environment["JOB_COMPLETION_INDEX"] ?? "0") ?? 0
            let count = max(1, Int(environment["JOB_COMPLETIONS"] ?? "1") ?? 1)
            policies = policies.sorted { ObjectCache.key(of: $0) < ObjectCache.key(of: $1) }.enumerated().filter {
                $0.offset % count == index
            }.map(\.element)
        }
        let recorder = EventRecorder(
            client: client, reportingController: "forescale.io/trainer",
            reportingInstance: ProcessInfo.processInfo.hostName, clock: ContinuousClock(),
            wallTime: { now })
        var failures = 0
        for policy in policies {
            let key = ObjectCache.key(of: policy)
            do {
                let verdict = try await train(
                    policy, client: client, recorder: recorder, aws: aws, s3: s3, fileRoots: fileRoots,
                    prometheus: prometheus, now: now,
                    historyDays: historyDays, margin: margin, epochs: epochs, hidden: hidden)
                print("\(key): \(verdict.promote ? "promoted" : "rejected") (\(verdict.reason)): \(verdict.message)")
            } catch {
                failures += 1
                printError("\(key): training failed: \(error)")
            }
        }
        return failures == 0 ? ExitCode.success : ExitCode.failure
    }

    static func train(
        _ policy: JSONValue, client: KubernetesClient, recorder: EventRecorder,
        aws: (@Sendable (String) async throws -> AWSClient)?, s3: (@Sendable () async throws -> S3API)?,
        fileRoots: FileRoots, prometheus: PrometheusConfiguration?, now: Date, historyDays: Double, margin: Double,
        epochs: Int, hidden: Int
    ) async throws -> PromotionGate.Verdict {
        let namespace = policy.value(at: ["metadata", "namespace"])?.stringValue ?? "default"
        let name = policy.value(at: ["metadata", "name"])?.stringValue ?? ""
        let spec = try PolicySpec.parse(policy["spec"]).get()
        guard let artefactURL = spec.modelArtefact else {
            throw UsageError("spec.model.artefact is not set: nowhere to promote to")
        }
        let binding = try await TargetRegistry(
            client: client, anchor: now, aws: aws, fileRoots: fileRoots, prometheus: prometheus
        ).binding(
            for: "\(namespace)/\(name)", namespace: namespace, spec: spec)
        // Both bounded: history-days by the command line, stepSeconds ≥ 1 by the spec.
        let steps = Int(min(historyDays * 86_400 / spec.stepSeconds, 1_000_000))
        let history: [LoadSample]
        do { history = try await binding.metrics.loadHistory(until: now, steps: steps) } catch {
            throw StageError(stage: "reading the load history", underlying: error)
        }
        guard history.count >= 200 else { throw UsageError("only \(history.count) history points; need at least 200") }
        // A simulated trace is shifted in time: train on its original timestamps, as the
        // controller ages models by the same shift.
        let shift = binding.metrics.timeShift
        let inputs = spec.inputs.map(\.name)
        var columns = ["load": history.map { Float($0.load) }]
        for (index, name) in inputs.enumerated() {
            columns[name] = history.map { index < $0.inputs.count ? Float($0.inputs[index]) : 0 }
        }
        // On the policy's grid: a source's missing datapoints are filled, not read as steps.
        let (table, regularity) = try TimeSeriesTable(
            timestamps: history.map { $0.time.addingTimeInterval(-shift) }, columns: columns,
            columnNames: ["load"] + inputs
        )
        .regularized(step: spec.stepSeconds, path: "the load history")
        if let note = regularity.note { printError("\(namespace)/\(name): history: \(note)") }

        var events: [CalendarEvent] = []
        if let configMap = spec.calendarConfigMap {
            let map = try await client.get(.configMaps, namespace: namespace, name: configMap)
            events = try BusinessCalendar.parse(
                Data((map.value(at: ["data", spec.calendarKey])?.stringValue ?? "[]").utf8)
            )
            .map {
                CalendarEvent(
                    name: $0.name, start: $0.start.addingTimeInterval(-shift), end: $0.end.addingTimeInterval(-shift),
                    multiplier: $0.multiplier)
            }
        }
        // The model's horizon covers the lead time and the policy's forecast.horizonSteps.
        let horizon = max(spec.horizonSteps, max(2, spec.leadSteps + 1))
        let outcome: TrainingOutcome
        do {
            outcome = try Training.run(
                table: table, targetColumn: "load",
                recipe: .controller(
                    horizon: horizon, hasCalendar: !events.isEmpty, inputs: inputs, hidden: hidden, epochs: epochs),
                events: events, createdAt: now)
        } catch {
            throw StageError(stage: "training", underlying: error)
        }
        let challengerData = try outcome.artefact.encoded()
        // What each artefact serves (its LSTM or its selection's classical winner), scored on the
        // same origins of the same table's most recent part.
        guard let challenger = Forecaster(outcome.artefact).holdoutScore(table, events: events) else {
            throw StageError(stage: "scoring the challenger", underlying: UsageError("too little history to score"))
        }
        let challengerMAE = challenger.metrics.mae
        let seasonal = challenger.seasonalNaive.mae

        // The champion on the same origins (nil when missing or not comparable).
        var championMAE: Double?
        if case .success(let champion) = await ModelRegistry(fileRoots: fileRoots, s3: s3).model(artefactURL, now: now)
        {
            championMAE = champion.forecaster.holdoutScore(table, events: events)?.metrics.mae
        }
        let verdict = PromotionGate.decide(
            challengerMAE: challengerMAE, championMAE: championMAE, seasonalNaiveMAE: seasonal, margin: margin,
            challengerServes: challenger.served)
        let version = ModelRegistry.version(challengerData)
        if verdict.promote {
            do {
                try await promote(
                    challengerData, to: artefactURL, version: version, s3: s3, fileRoots: fileRoots, now: now)
            } catch { throw StageError(stage: "promoting to \(artefactURL)", underlying: error) }
        }

        var training: [String: JSONValue] = [
            "time": .string(Timestamps.format(now)), "challengerVersion": .string(version),
            "challengerMAE": .number(challengerMAE), "challengerServes": .string(challenger.served),
            "promoted": .bool(verdict.promote), "reason": .string(verdict.reason), "message": .string(verdict.message),
            "historyPoints": .integer(Int64(history.count)), "inputs": .array(inputs.map { .string($0) }),
        ]
        if let championMAE { training["championMAE"] = .number(championMAE) }
        training["seasonalNaiveMAE"] = .number(seasonal)
        _ = try await client.patch(
            .scalingPolicies, namespace: namespace, name: name, .merge(["status": ["training": .object(training)]]),
            subresource: "status")
        await recorder.record(
            regarding: ObjectReference(policy), type: verdict.promote ? .normal : .warning,
            reason: verdict.promote ? "ModelPromoted" : "ModelRejected", action: "Train", note: verdict.message)
        return verdict
    }

    /// file://: temp + fsync + rename. s3://: a new versioned key first, then the pointer key
    /// the policy reads — a crash in between leaves the old model in use.
    static func promote(
        _ data: Data, to url: String, version: String, s3: (@Sendable () async throws -> S3API)?, fileRoots: FileRoots,
        now: Date
    ) async throws {
        if url.hasPrefix("file://") {
            // The file may not exist yet: its directory must be under a root.
            let path = String(url.dropFirst("file://".count))
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard let allowed = fileRoots.resolve(directory) else {
                throw UsageError(fileRoots.refusal(path, what: "model file"))
            }
            try AtomicFile.write(data, to: allowed + "/" + URL(fileURLWithPath: path).lastPathComponent)
            return
        }
        let location = url.dropFirst("s3://".count)
        guard let slash = location.firstIndex(of: "/"), let s3 else {
            throw UsageError("\(url): s3:// needs --aws and s3://bucket/key")
        }
        let bucket = String(location[..<slash])
        let key = String(location[location.index(after: slash)...])
        let api = try await s3()
        let directory = key.contains("/") ? String(key[..<key.lastIndex(of: "/")!]) + "/" : ""
        // Compact UTC time in the key (no ':'), so keys sort by time and need no escaping.
        let stamp = Timestamps.format(now).replacingOccurrences(of: "-", with: "").replacingOccurrences(
            of: ":", with: "")
        _ = try await api.putObject(bucket: bucket, key: "\(directory)versions/\(stamp)-\(version).fsm", data: data)
        _ = try await api.putObject(bucket: bucket, key: key, data: data)
    }
}

/// A failure with the step it happened in.
struct StageError: Error, CustomStringConvertible {
    var stage: String
    var underlying: Error
    var description: String { "\(stage): \(underlying)" }
}
