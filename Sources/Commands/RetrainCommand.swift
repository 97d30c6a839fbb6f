import Autoscaler
import Cloud
import FileIO
import Forecasting
import Foundation
import KubeClient
import KubeCore
import PolicyEngine

/// `forescale trainer` and the `forescale-trainer` executable (the retraining Job).
public enum RetrainCommand: Subcommand {
    package static let name = "trainer"
    package static let summary = "retrain policies' models from their history, with a promotion gate"
    package static let usage = """
        Usage: forescale-trainer (--policy NAMESPACE/NAME | --all [--namespace NS])
                                 [--kubeconfig F] [--history-days 14] [--margin 0.02]
                                 [--epochs 25] [--hidden 32] [--aws] [--now RFC3339] [--model-root DIR]...
                                 [--prometheus-url URL …] [--access-rules F] [--max-rows 100000]
                                 [--policy-seconds 600]

        For each policy: reads its history window from its metrics source (simulated trace or
        CloudWatch) as capacity-independent load, trains a challenger on it (calendar features
        when the policy has a calendar), and evaluates challenger, current model (champion) and
        seasonal-naive on the same most-recent holdout, at the step the policy acts on (its lead
        time plus one step). Promotes only if the challenger beats both by --margin. It writes only where the access rules' artefactStore puts the policy
        (<store><namespace>/<name>/; spec.model.artefact unset means <store><namespace>/<name>/model.fsm),
        and only over the champion it read: file:// artefacts are replaced atomically if unchanged;
        s3:// artefacts get a new versioned key, then the pointer key with If-Match (If-None-Match
        when there was none). A champion that cannot be read (not "does not exist") fails the policy.
        A history that does not vary never promotes. At most --max-rows history rows and
        --policy-seconds of training per policy. Records the outcome in the policy status
        (status.training) and an Event (ModelPromoted / ModelRejected).
        --all shards policies by JOB_COMPLETION_INDEX / JOB_COMPLETIONS (an Indexed Job).
        file:// artefacts and simulation traces are read and written only under a --model-root
        (/PREFIX=DIR mounts DIR at PREFIX, as the controller's).
        Exit 0 when every policy trained (promoted or not), 1 if any failed.
        \(TenancyOptions.usage)
        """

    public static func main(_ words: [String]) async -> Int32 {
        await CommandLineTool.main([name] + words, tool: "forescale-trainer", commands: [Self.self])
    }

    package static func run(_ arguments: inout Arguments) async throws -> Int32 {
        try await run(&arguments, plugin: nil)
    }

    /// The trainer with a build's target plug-in (simulated policies train on their trace).
    package static func run(_ arguments: inout Arguments, plugin: TargetPluginOption?) async throws -> Int32 {
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
        let tenancy = try TenancyOptions.parse(&arguments, environment: ProcessInfo.processInfo.environment)
        let maxRows = try arguments.option("max-rows", default: 100_000)
        let policySeconds = try arguments.option("policy-seconds", default: 600)
        let makePlugin = try plugin?.parse(&arguments)
        try arguments.finish()
        // A Job's deadline or a drain ends the run at once: every write is atomic (a champion is replaced only by
        // rename, or by S3's conditional PUT), so stopping anywhere leaves the champion whole.
        SignalWaiter.exit(on: [SIGTERM, SIGINT]) { signal in
            "forescale-trainer: stopped by signal \(signal); champions not yet replaced stay as they are"
        }
        guard (200...1_000_000).contains(maxRows), (1...86_400).contains(policySeconds) else {
            throw UsageError("--max-rows must be in 200…1000000 and --policy-seconds in 1…86400")
        }
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
        let now = try nowText.map(parseNow) ?? Date()
        var environment = ProcessInfo.processInfo.environment
        if let kubeconfig { environment["KUBECONFIG"] = kubeconfig }
        let client = try connect(environment: environment)
        defer { client.shutdown() }
        let aws: (@Sendable (String) async throws -> AWSClient)? = useAWS ? AWSClients().client(region:) : nil
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let s3 = AWSClients.s3(aws, region: region)

        let policies = try await shard(
            client: client, policy: policyKey, namespace: namespace, environment: environment)
        let recorder = EventRecorder(
            client: client, reportingController: "forescale.io/trainer",
            reportingInstance: ProcessInfo.processInfo.hostName, clock: ContinuousClock(),
            wallTime: { now })
        var failures = 0
        for policy in policies {
            let key = policy.key
            do {
                let limits = Limits(
                    historyDays: historyDays, maxRows: maxRows, epochs: epochs, hidden: hidden,
                    wallTime: .seconds(policySeconds), modelBytes: tenancy.modelLimits.modelBytes)
                let verdict = try await train(
                    policy, client: client, recorder: recorder, aws: aws, s3: s3, fileRoots: fileRoots,
                    prometheus: prometheus, plugin: makePlugin?(now, "forescale-trainer"), access: tenancy.access.rules,
                    now: now, margin: margin, limits: limits)
                print("\(key): \(verdict.promote ? "promoted" : "rejected") (\(verdict.reason)): \(verdict.message)")
            } catch {
                failures += 1
                printError("\(key): training failed: \(error)")
            }
        }
        return failures == 0 ? ExitCode.success : ExitCode.failure
    }

    static func parseNow(_ text: String) throws -> Date {
        guard let parsed = Timestamps.parse(text) else { throw UsageError("--now must be an RFC 3339 time") }
        return parsed
    }

    /// A client of the cluster the kubeconfig (or the pod's service account) names.
    static func connect(environment: [String: String]) throws -> KubernetesClient {
        do {
            return KubernetesClient(
                connection: try KubeConfigLoader(environment: environment).resolve(), fieldManager: "forescale-trainer")
        } catch { throw UsageError("\(error)") }
    }

    /// The policies this run trains: the one named, or this shard's part of all (an Indexed Job's
    /// JOB_COMPLETION_INDEX of JOB_COMPLETIONS, by key order).
    static func shard(
        client: KubernetesClient, policy policyKey: String?, namespace: String?, environment: [String: String]
    )
        async throws -> [ScalingPolicy]
    {
        let typed = TypedClient<ScalingPolicy>(client)
        var policies: [ScalingPolicy]
        if let policyKey {
            let parts = policyKey.split(separator: "/").map(String.init)
            guard parts.count == 2 else { throw UsageError("--policy takes NAMESPACE/NAME") }
            policies = [try await typed.get(namespace: parts[0], name: parts[1])]
        } else {
            policies = try await typed.list(namespace: namespace)
            let index = Int(environment["JOB_COMPLETION_INDEX"] ?? "0") ?? 0
            let count = max(1, Int(environment["JOB_COMPLETIONS"] ?? "1") ?? 1)
            policies = policies.sorted { $0.key < $1.key }.enumerated().filter {
                $0.offset % count == index
            }.map(\.element)
        }
        return policies
    }

    /// What one policy's training may take.
    struct Limits {
        var historyDays: Double
        var maxRows: Int
        var epochs: Int
        var hidden: Int
        var wallTime: Duration
        var modelBytes: Int
    }

    static func train(
        _ policy: ScalingPolicy, client: KubernetesClient, recorder: EventRecorder,
        aws: (@Sendable (String) async throws -> AWSClient)?, s3: (@Sendable () async throws -> S3API)?,
        fileRoots: FileRoots, prometheus: PrometheusConfiguration?, plugin: (any TargetPlugin)?, access: AccessRules,
        now: Date, margin: Double, limits: Limits
    ) async throws -> PromotionGate.Verdict {
        let (namespace, name) = (policy.namespace, policy.name)
        let spec = try policy.spec.get()
        if let denied = access.denial(namespace: namespace, name: name, spec: spec) {
            throw StageError(stage: "access rules", underlying: denied)
        }
        let artefact = try promotionTarget(namespace: namespace, name: name, spec: spec, access: access)
        // The model's horizon covers the lead time and the policy's forecast.horizonSteps.
        let horizon = max(spec.horizonSteps, max(2, spec.leadSteps + 1))
        guard ModelLimits.horizon.contains(horizon) else {
            throw UsageError(
                "the lead time and horizon need \(horizon) steps of \(Int(spec.stepSeconds)) s; a model forecasts at "
                    + "most \(ModelLimits.horizon.upperBound): lengthen spec.metrics.stepSeconds or shorten the lead")
        }
        // The champion, read first (a run that cannot read it must not spend a shard's time training), and which
        // version it was, so the promotion writes only over it.
        let champion: Champion
        do {
            champion = try await Champion.read(artefact, s3: s3, fileRoots: fileRoots, maxBytes: limits.modelBytes)
        } catch {
            throw StageError(stage: "reading the champion at \(artefact)", underlying: error)
        }
        let binding = try await TargetRegistry(
            client: client, aws: aws, fileRoots: fileRoots, prometheus: prometheus, plugin: plugin,
            access: AccessControl(rules: access)
        ).binding(
            for: "\(namespace)/\(name)", namespace: namespace, spec: spec)
        let (table, historyPoints) = try await historyTable(
            binding.metrics, spec: spec, now: now, limits: limits, policy: "\(namespace)/\(name)")
        let inputs = spec.inputs.map(\.name)
        let shift = binding.metrics.timeShift
        // A replayed trace trains on its own timestamps: its calendar moves with it.
        let events = try await CalendarConfigMap.events(client, namespace: namespace, spec: spec).map {
            CalendarEvent(
                name: $0.name, start: $0.start.addingTimeInterval(-shift), end: $0.end.addingTimeInterval(-shift),
                multiplier: $0.multiplier)
        }
        // The step the policy acts on (lead + one step): what the selection and the gate score.
        let acting = spec.leadSteps
        let outcome = try challenger(
            table, events: events, horizon: horizon, actingStep: acting, quantile: Float(spec.quantile), inputs: inputs,
            limits: limits, now: now)
        let championMAE = champion.forecaster?.holdoutScore(table, events: events, step: acting)?.metrics.mae
        let (served, challenger, verdict) = try gate(
            outcome, table: table, events: events, acting: acting, championMAE: championMAE, margin: margin)
        let challengerMAE = challenger.metrics.mae
        let seasonal = challenger.seasonalNaive.mae
        let challengerData = try served.encoded()
        let version = ModelRegistry.version(challengerData)
        if verdict.promote {
            do {
                try await champion.replace(
                    with: challengerData, version: version, s3: s3, fileRoots: fileRoots, now: now)
            } catch { throw StageError(stage: "promoting to \(artefact)", underlying: error) }
        }

        try await report(
            verdict, policy: policy, client: client, recorder: recorder,
            training: [
                "time": .string(Timestamps.format(now)), "challengerVersion": .string(version),
                "challengerMAE": .number(challengerMAE), "challengerServes": .string(challenger.served),
                "historyPoints": .integer(Int64(historyPoints)), "inputs": .array(inputs.map { .string($0) }),
                "championMAE": championMAE.map { .number($0) } ?? .null, "seasonalNaiveMAE": .number(seasonal),
            ])
        return verdict
    }

    /// What the challenger serves (its LSTM or its selection's classical winner) and the champion (its MAE given),
    /// scored on the same origins of the same table's most recent part, and the gate's verdict. When what the
    /// selection chose does not beat seasonal naive there, seasonal naive itself (bands calibrated on the training's
    /// validation part) is what is gated: a policy with history forecasts from the day before rather than not at all.
    static func gate(
        _ outcome: TrainingOutcome, table: TimeSeriesTable, events: [CalendarEvent], acting: Int, championMAE: Double?,
        margin: Double
    ) throws -> (ModelArtefact, Forecaster.HoldoutScore, PromotionGate.Verdict) {
        guard let score = Forecaster(outcome.artefact).holdoutScore(table, events: events, step: acting) else {
            throw StageError(stage: "scoring the challenger", underlying: UsageError("too little history to score"))
        }
        let verdict = PromotionGate.decide(
            challengerMAE: score.metrics.mae, championMAE: championMAE, seasonalNaiveMAE: score.seasonalNaive.mae,
            margin: margin, challengerServes: score.served)
        let kind = StatisticalModel.Kind.seasonalNaive
        guard verdict.reason == .worseThanSeasonalNaive, score.served != kind.rawValue,
            let series = table.columns[outcome.artefact.header.targetColumn],
            let fallback = outcome.artefact.serving(
                kind, series: series.map(Double.init), origins: outcome.prepared.dataset.validation,
                refitEnd: outcome.prepared.dataset.test.first ?? table.count),
            let fallbackScore = Forecaster(fallback).holdoutScore(table, events: events, step: acting)
        else { return (outcome.artefact, score, verdict) }
        var second = PromotionGate.decide(
            challengerMAE: fallbackScore.metrics.mae, championMAE: championMAE,
            seasonalNaiveMAE: fallbackScore.seasonalNaive.mae, margin: margin, challengerServes: fallbackScore.served)
        guard second.promote else { return (outcome.artefact, score, verdict) }
        second.reason = .servesSeasonalNaive
        second.message = "\(verdict.message): seasonal-naive serves (\(second.message))"
        return (fallback, fallbackScore, second)
    }

    /// The controller's recipe trained on the policy's history, within the run's limits.
    static func challenger(
        _ table: TimeSeriesTable, events: [CalendarEvent], horizon: Int, actingStep: Int, quantile: Float,
        inputs: [String], limits: Limits, now: Date
    ) throws -> TrainingOutcome {
        do {
            return try Training.run(
                table: table, targetColumn: "load",
                recipe: .controller(
                    horizon: horizon, actingStep: actingStep, quantile: quantile, hasCalendar: !events.isEmpty,
                    inputs: inputs,
                    hidden: limits.hidden,
                    epochs: limits.epochs, wallTimeLimit: limits.wallTime),
                events: events, createdAt: now)
        } catch {
            throw StageError(stage: "training", underlying: error)
        }
    }

    /// The policy's load history on its grid (a source's missing datapoints filled), on the trace's own timestamps
    /// for a replayed trace (the controller ages models by the same shift), and how many points were read.
    static func historyTable(
        _ metrics: any MetricsSource, spec: PolicySpec, now: Date, limits: Limits, policy: String
    ) async throws -> (TimeSeriesTable, Int) {
        // Both bounded: history-days and --max-rows by the command line, stepSeconds ≥ 1 by the spec.
        let steps = Int(min(limits.historyDays * 86_400 / spec.stepSeconds, Double(limits.maxRows)))
        let history: [LoadSample]
        do { history = try await metrics.loadHistory(until: now, steps: steps) } catch {
            throw StageError(stage: "reading the load history", underlying: error)
        }
        guard history.count >= 200 else { throw UsageError("only \(history.count) history points; need at least 200") }
        // A simulated trace is shifted in time: train on its original timestamps, as the
        // controller ages models by the same shift.
        let shift = metrics.timeShift
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
        if let note = regularity.note { printError("\(policy): history: \(note)") }

        return (table, history.count)
    }

    /// The training's outcome in the policy's status and an Event.
    static func report(
        _ verdict: PromotionGate.Verdict, policy: ScalingPolicy, client: KubernetesClient, recorder: EventRecorder,
        training: [String: JSONValue]
    ) async throws {
        var training = training.filter { $0.value != .null }
        training["promoted"] = .bool(verdict.promote)
        training["reason"] = .string(verdict.reason.rawValue)
        training["message"] = .string(verdict.message)
        try await TypedClient<ScalingPolicy>(client).patchStatus(of: policy, ["training": .object(training)])
        await recorder.record(
            regarding: policy.reference, type: verdict.promote ? .normal : .warning,
            reason: (verdict.promote ? EventReason.modelPromoted : .modelRejected).description,
            action: EventAction.train.rawValue, note: verdict.message)
    }

    /// Where the trainer may write this policy's champion: under `<artefactStore><namespace>/<name>/`, derived from
    /// the operator's store and the policy's identity — never a place the spec chooses.
    static func promotionTarget(namespace: String, name: String, spec: PolicySpec, access: AccessRules) throws
        -> ArtefactURL
    {
        guard let store = access.artefactStore else {
            throw UsageError(
                "the access rules name no artefactStore: the trainer writes models only under the operator's store")
        }
        let derived = store.artefact(namespace: namespace, name: name)
        guard let chosen = spec.modelArtefact else { return derived }
        let url = try ArtefactURL(parsing: chosen)
        let area = store.area(namespace: namespace, name: name)
        guard area.contains(url) else {
            throw UsageError(
                "spec.model.artefact \(url) is outside \(area), where the trainer keeps this policy's models: leave it "
                    + "unset (\(derived)) or name a file under it")
        }
        return url
    }
}

/// A failure with the step it happened in.
struct StageError: Error, CustomStringConvertible {
    var stage: String
    var underlying: Error
    var description: String { "\(stage): \(underlying)" }
}
