import Autoscaler
import Cloud
import Foundation
import KubeClient
import KubeCore

/// `forescale controller` and the `forescale-controller` executable.
public enum ControllerCommand: Subcommand {
    package static let name = "controller"
    package static let summary = "run the ScalingPolicy controller against a cluster"
    package static let usage = """
        Usage: forescale-controller [--kubeconfig F] [--context C] [--namespace NS] [--workers 2]
                                    [--leader-elect true|false] [--lease-name forescale-controller]
                                    [--lease-namespace NS] [--identity ID]
                                    [--metrics-address 0.0.0.0] [--metrics-port 8080] [--log-format text|json]
                                    [--dashboard-address 127.0.0.1] [--dashboard-port 8081] [--no-dashboard]
                                    [--dashboard-history-mb 64] [--slo 80] [--min-fast-check-seconds 5]
                                    [--model-root DIR]...
                                    [--aws] [--access-rules F] [--memory-limit-mb 512]
                                    [--speed X --virtual-start RFC3339 [--virtual-epoch RFC3339]]

        Connects with --kubeconfig (or KUBECONFIG, ~/.kube/config, else the in-cluster service
        account), watches ScalingPolicies (all namespaces unless --namespace) and reconciles them
        with --workers workers. With leader election (default on) only the holder of the Lease
        acts; the others wait and take over when it stops renewing. Serves /metrics, /healthz and
        /readyz on --metrics-address:--metrics-port, and the read-only dashboard (/,
        /api/v1/policies, …: every watched namespace's policies and Events) on
        --dashboard-address:--dashboard-port, loopback by default (kubectl port-forward reaches
        it); its history (a day per policy at most) is held to --dashboard-history-mb of memory,
        and it counts an interval overloaded above --slo % utilisation per instance.
        Between a policy's steps its present load is checked every
        spec.behavior.scaleUp.fastCheckSeconds (default 15, never more often than
        --min-fast-check-seconds) where the metrics source has newer data than the step grid
        (Prometheus, CloudWatch), to add capacity the present load needs — never to remove it.
        file:// model artefacts and simulation traces are read only under a --model-root
        (repeatable; none by default: a policy cannot make the controller open local files).
        --model-root /models=DIR mounts DIR at /models, as the image does: the examples'
        file:///models/seed-load.fsm then reads DIR/seed-load.fsm (locally: /models=Models).
        SIGTERM or SIGINT: in-flight reconciles finish and the lease is released.
        --aws enables AutoScalingGroup targets, with credentials from the standard chain
        (environment, IRSA web identity, Pod Identity, shared files, IMDSv2) and
        AWS_ENDPOINT_URL overrides.
        --speed X --virtual-start T: the
        controller's clock runs X times real time, reading T at --virtual-epoch (a wall time,
        default now) — so replicas started apart share one virtual clock (soak, simulations).
        \(PrometheusOptions.usage)
        \(TenancyOptions.usage)
        """

    public static func main(_ words: [String]) async -> Int32 {
        await CommandLineTool.main([name] + words, tool: "forescale-controller", commands: [Self.self])
    }

    package static func run(_ arguments: inout Arguments) async throws -> Int32 {
        try await run(&arguments, plugin: nil)
    }

    /// The controller with a build's target plug-in (the simulation), which parses its own options.
    /// The controller's own tuning (--workers, --dashboard-history-mb, --slo, --min-fast-check-seconds), checked.
    static func tune(_ configuration: inout Controller.Configuration, _ arguments: inout Arguments) throws {
        let workers = try arguments.option("workers", default: 2)
        let historyMegabytes = try arguments.option("dashboard-history-mb", default: 64)
        let slo = try arguments.option("slo", default: 80.0)
        let minFastCheck = try arguments.option("min-fast-check-seconds", default: 5.0)
        guard workers >= 1, workers <= 64 else { throw UsageError("--workers must be between 1 and 64") }
        guard (1...1_048_576).contains(historyMegabytes) else {
            throw UsageError("--dashboard-history-mb must be between 1 and 1048576")
        }
        guard minFastCheck >= 1, minFastCheck <= 86_400 else {
            throw UsageError("--min-fast-check-seconds must be between 1 and 86400")
        }
        guard slo > 0, slo <= 100 else { throw UsageError("--slo is a per-instance utilisation in (0, 100]") }
        configuration.workers = workers
        configuration.historyMemoryBudget = historyMegabytes << 20
        configuration.sloUtilization = slo
        configuration.minFastCheckSeconds = minFastCheck
    }

    package static func run(_ arguments: inout Arguments, plugin: TargetPluginOption?) async throws -> Int32 {
        let kubeconfig = try arguments.option("kubeconfig")
        let context = try arguments.option("context")
        var configuration = Controller.Configuration(namespace: try arguments.option("namespace"))
        try tune(&configuration, &arguments)
        let leaderElect = try arguments.option("leader-elect") ?? "true"
        let leaseName = try arguments.option("lease-name") ?? "forescale-controller"
        let leaseNamespace = try arguments.option("lease-namespace")
        let identity = try arguments.option("identity") ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let metricsAddress = try arguments.option("metrics-address") ?? "0.0.0.0"
        let metricsPort = try arguments.option("metrics-port", default: 8080)
        let logFormat = try arguments.option("log-format") ?? "text"
        let dashboardAddress = try arguments.option("dashboard-address") ?? "127.0.0.1"
        let dashboardPort = try arguments.option("dashboard-port", default: 8081)
        let noDashboard = arguments.flag("no-dashboard")
        let modelRoots = try arguments.options("model-root")
        let useAWS = arguments.flag("aws")
        let clock = try VirtualClock.parse(&arguments)
        let prometheus = try PrometheusOptions.parse(&arguments, environment: ProcessInfo.processInfo.environment)
        let tenancy = try TenancyOptions.parse(&arguments, environment: ProcessInfo.processInfo.environment)
        let makePlugin = try plugin?.parse(&arguments)
        try arguments.finish()
        guard (0...65535).contains(metricsPort), (0...65535).contains(dashboardPort) else {
            throw UsageError("--metrics-port and --dashboard-port must be between 0 and 65535")
        }
        guard leaderElect == "true" || leaderElect == "false" else {
            throw UsageError("--leader-elect must be true or false")
        }
        guard logFormat == "text" || logFormat == "json" else { throw UsageError("--log-format must be text or json") }
        let now = clock.now
        let log = Logger(format: logFormat == "json" ? .json : .text, now: now)

        let connection = try connect(kubeconfig: kubeconfig, context: context)
        let client = KubernetesClient(connection: connection, fieldManager: "forescale-controller")
        defer { client.shutdown() }
        configuration.reportingInstance = identity
        configuration.speed = clock.speed
        let (models, targets) = try registries(
            client: client, useAWS: useAWS, modelRoots: modelRoots, prometheus: prometheus, tenancy: tenancy,
            plugin: makePlugin?(clock.start ?? Date(), identity))
        let controller = Controller(
            client: client, configuration: configuration, targets: targets, models: models, clock: ContinuousClock(),
            now: now, log: log)
        let endpoint = try ControllerEndpoint.start(
            controller: controller, address: metricsAddress, port: metricsPort, routes: .operations)
        defer { endpoint.shutdown() }
        let dashboard =
            noDashboard
            ? nil
            : try ControllerEndpoint.start(
                controller: controller, address: dashboardAddress, port: dashboardPort, routes: .dashboard)
        defer { dashboard?.shutdown() }
        log.info(
            "forescale-controller started",
            [
                "identity": identity, "server": connection.server, "namespace": configuration.namespace ?? "(all)",
                "metricsPort": String(endpoint.port),
                "dashboard": dashboard.map { "\(dashboardAddress):\($0.port)" } ?? "off", "leaderElection": leaderElect,
            ])

        let election =
            leaderElect == "true"
            ? KubernetesLeaseLock(client: client, namespace: leaseNamespace ?? connection.namespace, name: leaseName)
            : nil
        return await runUntilSignalled(controller, election: election, identity: identity, log: log)
    }

    /// The cluster named by --kubeconfig (else KUBECONFIG, ~/.kube/config, the in-cluster service account).
    static func connect(kubeconfig: String?, context: String?) throws -> ClusterConnection {
        var environment = ProcessInfo.processInfo.environment
        if let kubeconfig { environment["KUBECONFIG"] = kubeconfig }
        do {
            return try KubeConfigLoader(environment: environment).resolve(context: context)
        } catch {
            throw UsageError("\(error)")
        }
    }

    /// Where models (file:// under the roots, s3:// with --aws) and targets come from.
    static func registries(
        client: KubernetesClient, useAWS: Bool, modelRoots: [String], prometheus: PrometheusConfiguration?,
        tenancy: TenancyOptions, plugin: (any TargetPlugin)?
    ) throws -> (ModelRegistry, TargetRegistry) {
        let aws: (@Sendable (String) async throws -> AWSClient)? = useAWS ? AWSClients().client(region:) : nil
        let environment = ProcessInfo.processInfo.environment
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let fileRoots = FileRoots(modelRoots)
        guard fileRoots.roots.count == modelRoots.count else {
            throw UsageError("--model-root: every root (DIR or /PREFIX=DIR) must be an existing directory")
        }
        let models = ModelRegistry(
            fileRoots: fileRoots, s3: AWSClients.s3(aws, region: region), limits: tenancy.modelLimits)
        let targets = TargetRegistry(
            client: client, aws: aws, fileRoots: fileRoots, prometheus: prometheus, plugin: plugin,
            access: tenancy.access)
        return (models, targets)
    }

    /// Runs `controller` (as the leader of `election`'s Lease when given) until SIGINT or SIGTERM; a replica that
    /// lost its lease exits with failure so that the pod restarts and campaigns again.
    static func runUntilSignalled(
        _ controller: Controller, election: KubernetesLeaseLock?, identity: String, log: Logger
    ) async -> Int32 {
        let lostLeadership = Locked(false)
        let running = Task {
            if let lock = election {
                let elector = LeaderElector(
                    lock: lock, configuration: .init(identity: identity), clock: ContinuousClock())
                await elector.run {
                    log.info("became leader", ["lease": lock.name])
                    await controller.run()
                }
                // As client-go controllers do: a replica that lost its lease exits and is
                // restarted, rather than risk acting on a stale view.
                if !Task.isCancelled { lostLeadership.withLock { $0 = true } }
            } else {
                await controller.run()
            }
        }
        let stopped = Task {
            await running.value
            if lostLeadership.value { kill(getpid(), SIGTERM) }
        }
        let signal = await SignalWaiter.wait(for: [SIGINT, SIGTERM])
        running.cancel()
        await stopped.value
        if lostLeadership.value {
            log.error(
                "lost the leader lease; exiting so the pod restarts and campaigns again",
                ["lease": election?.name ?? ""])
            return ExitCode.failure
        }
        log.info("stopped", ["signal": String(signal), "reconciles": String(controller.metrics.reconcileCount)])
        return ExitCode.success
    }
}

/// `--speed X --virtual-start T [--virtual-epoch E]`: a clock running X times real time that reads T at the wall
/// time E (default now), so replicas started apart share one virtual clock (soak, simulations).
struct VirtualClock {
    var speed = 1.0
    var start: Date?
    var epoch = Date()

    static func parse(_ arguments: inout Arguments) throws -> VirtualClock {
        var clock = VirtualClock()
        clock.speed = try arguments.option("speed", default: 1.0)
        guard clock.speed > 0, clock.speed <= 1_000_000 else { throw UsageError("--speed must be in (0, 1000000]") }
        clock.start = try time(arguments.option("virtual-start"), "--virtual-start")
        clock.epoch = try time(arguments.option("virtual-epoch"), "--virtual-epoch") ?? Date()
        if clock.speed != 1, clock.start == nil { throw UsageError("--speed needs --virtual-start") }
        return clock
    }

    static func time(_ text: String?, _ option: String) throws -> Date? {
        guard let text else { return nil }
        guard let date = Timestamps.parse(text) else { throw UsageError("\(option) must be an RFC 3339 time") }
        return date
    }

    var now: @Sendable () -> Date {
        let (start, epoch, speed) = (self.start, self.epoch, self.speed)
        return {
            guard let start else { return Date() }
            return start.addingTimeInterval(Date().timeIntervalSince(epoch) * speed)
        }
    }
}

/// One AWS client per region, with credentials from the standard chain, re-asked on every
/// request (the chain caches them and refreshes IRSA / Pod Identity / IMDS credentials five
/// minutes before they expire).
final class AWSClients: Sendable {
    private let chain = CredentialChain()
    private let clients = Locked<[String: AWSClient]>([:])

    /// S3 in `region` through `aws`, for model artefacts (nil without AWS access).
    static func s3(_ aws: (@Sendable (String) async throws -> AWSClient)?, region: String) -> (
        @Sendable () async throws -> S3API
    )? {
        guard let aws else { return nil }
        return { S3API(client: try await aws(region)) }
    }

    @Sendable func client(region: String) async throws -> AWSClient {
        if let existing = clients.value[region] { return existing }
        let chain = self.chain
        var configuration = AWSConfiguration(region: region, credentials: try await chain.credentials().credentials)
        // Every request asks the chain, which refreshes temporary credentials before they expire.
        configuration.credentialProvider = { try await chain.credentials().credentials }
        let client = AWSClient(configuration: configuration)
        // Two first uses of a region may race: the first stored client wins.
        return clients.withLock { all in
            if let existing = all[region] { return existing }
            all[region] = client
            return client
        }
    }
}

/// A build's target plug-in as a command sees it: its usage lines, and a parser of its own options that returns
/// the maker of the plug-in for a clock's anchor (virtual time) and this process's identity.
package struct TargetPluginOption: Sendable {
    package typealias Maker = @Sendable (_ anchor: Date, _ identity: String) -> any TargetPlugin
    package let usage: String
    package let parse: @Sendable (inout Arguments) throws -> Maker

    package init(usage: String, parse: @escaping @Sendable (inout Arguments) throws -> Maker) {
        self.usage = usage
        self.parse = parse
    }
}
