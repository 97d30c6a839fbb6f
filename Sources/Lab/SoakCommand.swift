import APIServer
import AWSSigning
import Autoscaler
import CLI
import ChildProcess
import Cloud
import Commands
import FaultProxy
import FileIO
import Foundation
import KubeClient
import KubeCore
import PolicyEngine
import Simulation
import Synchronization
import Transport

/// `forescale soak`: the whole system as separate processes for hours of virtual time while
/// faults are injected, judged by the target side's ledger.
enum SoakCommand: Subcommand {
    static let name = "soak"
    static let summary = "run the whole system for hours under injected faults and check the ledger"
    static let usage = """
        Usage: forescale soak [--policies 50] [--virtual-hours 2] [--speed 120] [--seed 1]
                              [--faults all|LIST] [--replicas 2] [--asg-policies K] [--fast-checks on|off]
                              [--data-dir DIR] [--json]

        Starts, as separate processes of this executable: the API server (test hooks on), the
        simulator (the Simulated targets' one world and the ledger of every capacity change)
        and --replicas controllers with leader election; moto (AWS) when installed; in this
        process fault proxies between the controllers and the API server and AWS. Creates
        --policies ScalingPolicies (every mode, calendars and models on the predictive ones,
        about one in twenty invalid; --asg-policies of them, default a tenth, on Auto Scaling
        groups in moto, whose SetDesiredCapacity calls the AWS proxy records as their ledger)
        and runs --virtual-hours at --speed (virtual seconds per second), injecting each
        fault class of --faults in turn over the first 70 % of the run:
          api-errors    500 on 30 % of API calls for a while
          throttle      429 with Retry-After on 30 % of API calls
          resets        connections reset mid-body and truncated bodies
          watch-drops   every watch stream cut after 0.5 s
          compaction    the API server's history compacted and watches dropped (410 relists)
          apiserver-kill  kill -9 of the API server, restarted on the same data directory
          leader-kill   kill -9 of the lease holder (restarted a second later, as a pod)
          leader-term   SIGTERM of the lease holder (it releases the lease), restarted
          corrupt-model the model artefact overwritten with garbage, restored after
          metrics-gap   no load reported by any target for six steps
          aws-throttle  Throttling (400) on half of the AWS calls
        Then every valid policy's spec is changed and must reach observedGeneration within two
        steps. The report (--json for JSON) counts what the ledger found broken —
        duplicate_actions, lost_actions, stale_scale_ins, non_leader_actions, crashes,
        unconverged_policies, objects_lost — with failover and restart timings, fault and
        request counts and each process's peak RSS. Exit 0 when every count is zero, 1 when
        not, 64 on a usage problem. State and logs stay in --data-dir (default: a new
        temporary folder, printed).
        """

    static let faultClasses = [
        "api-errors", "throttle", "resets", "watch-drops", "compaction", "apiserver-kill", "leader-kill",
        "leader-term", "corrupt-model", "metrics-gap", "aws-throttle",
    ]

    static func run(_ arguments: inout Arguments) async throws -> Int32 {
        var options = Soak.Options()
        options.policies = try arguments.option("policies", default: 50)
        options.virtualHours = try arguments.option("virtual-hours", default: 2.0)
        options.speed = try arguments.option("speed", default: 120.0)
        options.seed = try arguments.option("seed", default: 1)
        options.replicas = try arguments.option("replicas", default: 2)
        let fastChecks = try arguments.option("fast-checks") ?? "on"
        guard fastChecks == "on" || fastChecks == "off" else { throw UsageError("--fast-checks takes on or off") }
        options.fastChecks = fastChecks == "on"
        options.asgPolicies = try arguments.option("asg-policies", as: Int.self)
        let faults = try arguments.option("faults") ?? "all"
        options.dataDirectory = try arguments.option("data-dir")
        let json = arguments.flag("json")
        try arguments.finish()
        guard (1...10_000).contains(options.policies) else { throw UsageError("--policies must be 1…10000") }
        guard options.virtualHours > 0, options.virtualHours <= 24 * 30 else {
            throw UsageError("--virtual-hours must be in (0, 720]")
        }
        guard options.speed >= 1, options.speed <= 3600 else { throw UsageError("--speed must be in [1, 3600]") }
        guard (1...3).contains(options.replicas) else { throw UsageError("--replicas must be 1, 2 or 3") }
        guard options.seed >= 0 else { throw UsageError("--seed must be ≥ 0") }
        if let asg = options.asgPolicies, !(0...options.policies).contains(asg) {
            throw UsageError("--asg-policies must be between 0 and --policies")
        }
        options.faults = faults == "all" ? faultClasses : faults.split(separator: ",").map(String.init)
        if let unknown = options.faults.first(where: { !faultClasses.contains($0) && $0 != "none" }) {
            throw UsageError("--faults: unknown class '\(unknown)' (known: \(faultClasses.joined(separator: ", ")))")
        }
        options.faults.removeAll { $0 == "none" }
        options.executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        options.crd = RepositoryFiles.locate("crds/scalingpolicy.yaml")
        options.model = RepositoryFiles.locate("Models/seed-load.fsm")
        guard FileManager.default.fileExists(atPath: options.crd), FileManager.default.fileExists(atPath: options.model)
        else {
            throw UsageError("run from the repository (the soak needs crds/ and Models/seed-load.fsm)")
        }
        let report = try await Soak(options).run { line in
            if !json { print(line) }
        }
        if json {
            print(String(decoding: report.json.serialized(), as: UTF8.self))
        } else {
            print(report.text)
        }
        return report.clean ? ExitCode.success : ExitCode.failure
    }
}

/// The Auto Scaling groups' ledger, as the AWS proxy saw it: each SetDesiredCapacity that
/// moto accepted (group, capacity, wall time).
final class AWSLog: Sendable {
    private let sets = Mutex<[(time: Date, group: String, capacity: Int)]>([])

    func record(_ body: Data) {
        let fields = Dictionary(
            String(decoding: body, as: UTF8.self).split(separator: "&").compactMap { pair -> (String, String)? in
                let parts = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).removingPercentEncoding ?? String($0)
                }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }, uniquingKeysWith: { $1 })
        guard fields["Action"] == "SetDesiredCapacity", let group = fields["AutoScalingGroupName"],
            let capacity = fields["DesiredCapacity"].flatMap(Int.init)
        else { return }
        sets.withLock { $0.append((Date(), group, capacity)) }
    }

    /// As ledger entries (target `aws/GROUP`, virtual time from the wall time, the previous
    /// capacity filled in; no action id or sender: the proxy cannot see them).
    func entries(virtual: (Date) -> Date, initial: (Int) -> Int) -> [SimulatorService.Entry] {
        var previous: [String: Int] = [:]
        return sets.withLock { $0 }.enumerated().compactMap { index, set in
            var json: JSONValue = [
                "seq": .integer(Int64(1_000_000 + index)), "target": .string("aws/\(set.group)"),
                "time": .string(Timestamps.formatMicro(virtual(set.time))), "capacity": .integer(Int64(set.capacity)),
                "actionId": .string("aws-\(index)"), "identity": "",
                "received": .string(Timestamps.formatMicro(set.time)), "duplicate": false,
            ]
            if let from = previous[set.group] { json["from"] = .integer(Int64(from)) }
            previous[set.group] = set.capacity
            return SimulatorService.Entry(json: json)
        }
    }
}

/// Times something happened, shared between threads.
final class TimeLog: Sendable {
    let times = Mutex<[Date]>([])
}

/// A child process the soak supervises: output to a log file, exits collected by a waiter
/// thread (an exit the soak did not cause is a crash), peak RSS read from /proc.
final class SoakProcess: Sendable {
    let name: String
    let executable: String
    /// The arguments of the n-th start (1, 2, …): a restarted controller is a new pod, with
    /// a new identity.
    let arguments: @Sendable (Int) -> [String]
    let logPath: String
    /// Added to (and overriding) this process's environment.
    let environment: [String: String]
    private struct State {
        var pid: pid_t?
        var starts = 0
        var expectingExit = false
        var exits: [(status: Int32, expected: Bool)] = []
        var peakKB = 0
    }
    private let state = Mutex(State())

    convenience init(name: String, executable: String, arguments: [String], logPath: String) {
        self.init(name: name, executable: executable, logPath: logPath) { _ in arguments }
    }

    init(
        name: String, executable: String, logPath: String, environment: [String: String] = [:],
        arguments: @escaping @Sendable (Int) -> [String]
    ) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.logPath = logPath
        self.environment = environment
    }

    /// The identity of the current (or last) start of a controller.
    var identity: String { "\(name)-\(state.withLock { $0.starts })" }

    func start() throws {
        let arguments = self.arguments(state.withLock { $0.starts + 1 })
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Soak.SoakError("\(logPath): cannot open the log") }
        defer { close(fd) }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devNull) }
        let pid = try ChildProcess.spawn(
            executable, arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, stdin: devNull, stdout: fd,
            stderr: fd)
        state.withLock {
            $0.pid = pid
            $0.starts += 1
            $0.expectingExit = false
        }
        let thread = Thread { [self] in
            let status = ChildProcess.waitForExit(pid)
            state.withLock {
                $0.exits.append((status, $0.expectingExit))
                if $0.pid == pid { $0.pid = nil }
            }
        }
        thread.start()
    }

    var pid: pid_t? { state.withLock { $0.pid } }
    var isRunning: Bool { pid != nil }

    /// Sends `signal`; the exit that follows is expected (not a crash).
    func signal(_ signal: Int32) {
        state.withLock { state in
            guard let pid = state.pid else { return }
            state.expectingExit = true
            kill(pid, signal)
        }
    }

    func waitForExit(timeout: Duration = .seconds(30)) async {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if isRunning {
            signal(SIGKILL)
            while isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// Reads VmHWM (the peak resident set) while it runs.
    func sampleMemory() {
        guard let pid,
            let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return }
        state.withLock { $0.peakKB = max($0.peakKB, kilobytes) }
    }

    /// How the last run ended (nil: running or never started).
    var lastExit: (status: Int32, expected: Bool)? { state.withLock { $0.pid == nil ? $0.exits.last : nil } }

    /// Counts the last exit as expected (a controller that exited because it lost its lease,
    /// as it is designed to, and is restarted like a pod).
    func markLastExitExpected() {
        state.withLock { state in
            if !state.exits.isEmpty { state.exits[state.exits.count - 1].expected = true }
        }
    }

    /// How many lines of its log match.
    func logLines(_ matching: (Substring) -> Bool) -> Int {
        guard let data = FileManager.default.contents(atPath: logPath) else { return 0 }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").filter(matching).count
    }

    /// The last line of its log.
    var lastLogLine: String {
        guard let data = FileManager.default.contents(atPath: logPath) else { return "" }
        return String(decoding: data.suffix(2048), as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    }

    var peakMB: Double { Double(state.withLock { $0.peakKB }) / 1024 }
    /// Exits the soak did not cause (a signal it did not send, or a status other than 0).
    var crashes: [Int32] { state.withLock { $0.exits.filter { !$0.expected }.map(\.status) } }
}

struct Soak {
    struct Options {
        var policies = 50
        var virtualHours = 2.0
        var speed = 120.0
        var seed = 1
        var replicas = 2
        /// Controllers check the (replayed) present load between steps, each virtual minute.
        var fastChecks = true
        /// Policies on Auto Scaling groups in moto (nil: a tenth of them, when moto is installed).
        var asgPolicies: Int?
        var faults: [String] = SoakCommand.faultClasses
        var dataDirectory: String?
        var executable = ""
        var crd = ""
        var model = ""
    }

    struct SoakError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    struct Report {
        var options: Options
        var directory: String
        var wallSeconds = 0.0
        var verdict = SoakLedger.Verdict()
        var crashes: [String] = []
        var unconverged: [String] = []
        var objectsLost: [String] = []
        var faultsInjected: [String: Int] = [:]
        var proxyCounts = FaultProxy.Counts()
        var leaseTakeoverAfterKill: [Double] = []
        var firstActionAfterKill: [Double] = []
        var leaseTakeoverAfterTerm: [Double] = []
        var statusWriteAfterRestart: [Double] = []
        var convergenceSeconds: Double?
        var peakRSSMB: [String: Double] = [:]
        var policiesChecked = 0
        /// SetDesiredCapacity calls moto accepted (through the AWS proxy).
        var groupCapacitySets = 0
        /// Controllers that exited because they lost their lease (by design) and were restarted.
        var leaseLossRestarts = 0
        /// Actions the controllers' fast checks took between steps (their logs' "scaled" lines with that reason).
        var fastCheckActions = 0
        /// Capacity paid for over the virtual run, every target.
        var instanceHours = 0.0

        /// What must be empty, by report key, with its label in the findings: the one list the
        /// verdict, the JSON, the text and the exit code read.
        var invariants: [(key: String, label: String, items: [String])] {
            [
                ("duplicate_actions", "duplicate", verdict.duplicateActions),
                ("lost_actions", "lost", verdict.lostActions),
                ("stale_scale_ins", "stale scale-in", verdict.staleScaleIns),
                ("non_leader_actions", "non-leader", verdict.nonLeaderActions),
                ("crashes", "crash", crashes),
                ("unconverged_policies", "unconverged", unconverged),
                ("objects_lost", "lost object", objectsLost),
            ]
        }

        var clean: Bool { invariants.allSatisfy(\.items.isEmpty) }

        var json: JSONValue {
            func numbers(_ values: [Double]) -> JSONValue { .array(values.map { .number(($0 * 100).rounded() / 100) }) }
            func list(_ values: [String]) -> JSONValue { .array(values.prefix(20).map(JSONValue.string)) }
            func count(_ value: Int) -> JSONValue { .integer(Int64(value)) }
            let errors = Double(proxyCounts.totalInjected + proxyCounts.upstreamErrors)
            let errorRate =
                proxyCounts.requests == 0 ? 0 : (errors / Double(proxyCounts.requests) * 1000).rounded() / 1000
            var object: [String: JSONValue] = [:]
            object["policies"] = count(options.policies)
            object["virtual_hours"] = .number(options.virtualHours)
            object["speed"] = .number(options.speed)
            object["seed"] = count(options.seed)
            object["replicas"] = count(options.replicas)
            object["faults"] = .array(options.faults.map(JSONValue.string))
            object["wall_seconds"] = .number((wallSeconds * 10).rounded() / 10)
            for invariant in invariants { object[invariant.key] = count(invariant.items.count) }
            object["actions_applied"] = count(verdict.applied)
            object["auto_scaling_group_sets"] = count(groupCapacitySets)
            object["fast_check_actions"] = count(fastCheckActions)
            object["instance_hours"] = .number((instanceHours * 10).rounded() / 10)
            object["lease_loss_restarts"] = count(leaseLossRestarts)
            object["deduplicated_retries"] = count(verdict.deduplicatedRetries)
            object["faults_injected"] = .object(faultsInjected.mapValues { count($0) })
            object["api_requests"] = count(proxyCounts.requests)
            object["api_error_rate"] = .number(errorRate)
            object["lease_takeover_after_kill9_seconds"] = numbers(leaseTakeoverAfterKill)
            object["first_action_after_kill9_seconds"] = numbers(firstActionAfterKill)
            object["lease_takeover_after_sigterm_seconds"] = numbers(leaseTakeoverAfterTerm)
            object["apiserver_restart_to_status_write_seconds"] = numbers(statusWriteAfterRestart)
            object["spec_change_converged_seconds"] =
                convergenceSeconds.map { .number(($0 * 100).rounded() / 100) } ?? .null
            object["peak_rss_mb"] = .object(peakRSSMB.mapValues { .number(($0 * 10).rounded() / 10) })
            object["details"] = .object(
                Dictionary(uniqueKeysWithValues: invariants.map { ($0.key, list($0.items)) }))
            object["data_dir"] = .string(directory)
            return .object(object)
        }

        var text: String {
            let faults = faultsInjected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                separator: ", ")
            let memory = peakRSSMB.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.0f", $0.value))" }
            func seconds(_ values: [Double]) -> String {
                values.map { String(format: "%.2f s", $0) }.joined(separator: ", ")
            }
            var lines: [String] = []
            lines.append(
                "soak: \(options.policies) policies × \(options.virtualHours) virtual h at \(Int(options.speed))×, "
                    + "\(options.replicas) controllers, seed \(options.seed): \(String(format: "%.0f", wallSeconds)) s")
            let counts = invariants.map { "\($0.key) \($0.items.count)" }
            lines.append("  " + counts.prefix(4).joined(separator: ", "))
            lines.append("  " + counts.dropFirst(4).joined(separator: ", "))
            lines.append(
                "  actions applied \(verdict.applied) (\(verdict.deduplicatedRetries) retries deduplicated); "
                    + "controllers restarted after losing their lease \(leaseLossRestarts); "
                    + "API requests \(proxyCounts.requests); faults: \(faults)")
            lines.append(
                "  lease taken over after kill -9: \(seconds(leaseTakeoverAfterKill)); after SIGTERM: "
                    + "\(seconds(leaseTakeoverAfterTerm)); first action after kill -9: \(seconds(firstActionAfterKill))"
            )
            lines.append("  API server restart to the first status write: \(seconds(statusWriteAfterRestart))")
            lines.append("  peak RSS MB: \(memory.joined(separator: ", "))")
            for invariant in invariants {
                for item in invariant.items.prefix(5) { lines.append("  \(invariant.label): \(item)") }
            }
            lines.append("  state and logs: \(directory)")
            return lines.joined(separator: "\n")
        }
    }

    let options: Options

    init(_ options: Options) { self.options = options }

    // Everything below runs in one soak: the world's parts and what the soak observed.
    final class World: Sendable {
        let directory: String
        let token: String
        let apiPort: Int
        let simulatorPort: Int
        let apiserver: SoakProcess
        let simulator: SoakProcess
        let controllers: [SoakProcess]
        let proxy: FaultProxy
        /// In front of moto (nil without Auto Scaling group policies).
        let awsProxy: FaultProxy?
        let direct: KubernetesClient
        let http = HTTPClient()
        /// When status writes got through the proxy (wall time).
        let statusWrites: TimeLog
        let lease = Mutex<[SoakLedger.LeaseSample]>([])

        init(
            directory: String, token: String, apiPort: Int, simulatorPort: Int, apiserver: SoakProcess,
            simulator: SoakProcess, controllers: [SoakProcess], proxy: FaultProxy, awsProxy: FaultProxy?,
            direct: KubernetesClient, statusWrites: TimeLog, extra: [SoakProcess]
        ) {
            self.statusWrites = statusWrites
            self.awsProxy = awsProxy
            self.extra = extra
            self.directory = directory
            self.token = token
            self.apiPort = apiPort
            self.simulatorPort = simulatorPort
            self.apiserver = apiserver
            self.simulator = simulator
            self.controllers = controllers
            self.proxy = proxy
            self.direct = direct
        }

        /// Peers beyond the system itself (moto).
        let extra: [SoakProcess]
        var processes: [SoakProcess] { [apiserver, simulator] + controllers + extra }

        func holder() async -> String? {
            guard
                let lease = try? await direct.get(.leases, namespace: "default", name: "forescale-controller"),
                let holder = lease.value(at: ["spec", "holderIdentity"])?.stringValue, !holder.isEmpty,
                let renew = lease.value(at: ["spec", "renewTime"])?.stringValue.flatMap(Timestamps.parse),
                let seconds = lease.value(at: ["spec", "leaseDurationSeconds"])?.intValue
            else { return nil }
            return Date().timeIntervalSince(renew) <= Double(seconds) ? holder : nil
        }

        func controller(named identity: String) -> SoakProcess? { controllers.first { $0.identity == identity } }

        func ledger() -> [SimulatorService.Entry] {
            guard let data = FileManager.default.contents(atPath: directory + "/ledger.jsonl") else { return [] }
            return data.split(separator: UInt8(ascii: "\n")).compactMap {
                (try? JSONValue(parsing: Data($0))).flatMap(SimulatorService.Entry.init(json:))
            }
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SoakError("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw SoakError("bind: \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func run(progress: @escaping @Sendable (String) -> Void) async throws -> Report {
        let began = ContinuousClock.now
        let directory: String
        if let chosen = options.dataDirectory {
            try AtomicFile.createPrivateDirectory(chosen)
            directory = chosen
        } else {
            directory = try AtomicFile.makeTemporaryDirectory(
                prefix: FileManager.default.temporaryDirectory.path + "/forescale-soak-")
        }
        for folder in ["logs", "models"] { try AtomicFile.createPrivateDirectory(directory + "/" + folder) }
        let modelPath = directory + "/models/seed-load.fsm"
        let modelBytes = try Data(contentsOf: URL(fileURLWithPath: options.model))
        try AtomicFile.write(modelBytes, to: modelPath)
        // The operator's rules: namespace default may scale the soak's groups (tagged for it) and read its model.
        let rulesPath = directory + "/access-rules.yaml"
        try AtomicFile.write(
            Data(
                """
                namespaces:
                  default:
                    autoScalingGroups: [{region: us-east-1, names: ["\(Self.groupName(0).prefix(4))*"]}]
                    artefacts: ["file://\(directory)/models/"]

                """.utf8), to: rulesPath)
        var report = Report(options: options, directory: directory)
        progress("soak: state and logs in \(directory)")

        // The clock every controller shares: virtual time at the epoch, running at speed.
        let anchor = Date()
        let virtualStart = try SeedScenario.virtualStart(anchor: anchor).start
        let epoch = Date()
        let virtualNow: @Sendable () -> Date = {
            virtualStart.addingTimeInterval(Date().timeIntervalSince(epoch) * options.speed)
        }
        let step = 300 / options.speed  // real seconds per 5-minute step

        let token = APIServer.generateToken()
        let apiPort = try Self.freePort()
        let simulatorPort = try Self.freePort()
        let apiserver = SoakProcess(
            name: "apiserver", executable: options.executable,
            arguments: [
                "apiserver", "--data-dir", directory + "/apiserver", "--port", String(apiPort), "--token", token,
                // The server keeps real time: an Event lives one virtual hour, as in a cluster.
                "--enable-test-hooks", "--event-ttl", String(format: "%.3f", 3600 / options.speed),
            ], logPath: directory + "/logs/apiserver.log")
        let simulator = SoakProcess(
            name: "simulator", executable: options.executable,
            arguments: ["simulator", "--ledger", directory + "/ledger.jsonl", "--port", String(simulatorPort)],
            logPath: directory + "/logs/simulator.log")
        try apiserver.start()
        try simulator.start()

        // The proxy the controllers talk through; the soak itself talks to the server directly.
        var upstreamTLS = TLSConfiguration()
        upstreamTLS.certificateAuthority = .file(directory + "/apiserver/tls.crt")
        var proxyConfiguration = FaultProxy.Configuration(
            upstream: "https://127.0.0.1:\(apiPort)", upstreamTLS: upstreamTLS, seed: UInt64(options.seed))
        let statusWrites = TimeLog()
        proxyConfiguration.onForward = { method, target, _, status in
            if method == "PATCH", target.contains("/status"), (200..<300).contains(status) {
                statusWrites.times.withLock { $0.append(Date()) }
            }
        }
        let proxy = FaultProxy(configuration: proxyConfiguration)
        let proxyPort = try proxy.start()
        defer { proxy.shutdown() }
        let kubeconfig = directory + "/kubeconfig"
        try AtomicFile.write(
            Data(
                """
                apiVersion: v1
                kind: Config
                clusters: [{name: soak, cluster: {server: "http://127.0.0.1:\(proxyPort)"}}]
                users: [{name: soak, user: {token: "\(token)"}}]
                contexts: [{name: soak, context: {cluster: soak, user: soak, namespace: default}}]
                current-context: soak
                """.utf8), to: kubeconfig, mode: AtomicFile.secretMode)
        // AWS: moto behind a second proxy, which records every SetDesiredCapacity it passes on.
        let motoAvailable =
            (try? ChildProcess.run(
                "python3", ["-c", "import moto.server"], environment: ProcessInfo.processInfo.environment
            ).status) == 0
        let asgCount = options.asgPolicies ?? (motoAvailable ? options.policies / 10 : 0)
        if asgCount > 0, !motoAvailable {
            throw SoakError("--asg-policies needs moto (python3 -m pip install 'moto[server]'; make deps installs it)")
        }
        if !motoAvailable { progress("soak: moto is not installed: no Auto Scaling group policies") }
        let awsLog = AWSLog()
        var aws: (moto: SoakProcess, proxy: FaultProxy, port: Int)?
        var controllerEnvironment: [String: String] = [:]
        if asgCount > 0 {
            let motoPort = try Self.freePort()
            let moto = SoakProcess(
                name: "moto", executable: "python3",
                arguments: [
                    "-c",
                    """
                    import os, time
                    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "inf"
                    from moto.server import ThreadedMotoServer
                    server = ThreadedMotoServer(ip_address="127.0.0.1", port=\(motoPort), verbose=False)
                    server.start()
                    while True:
                        time.sleep(3600)
                    """,
                ], logPath: directory + "/logs/moto.log")
            try moto.start()
            var awsProxyConfiguration = FaultProxy.Configuration(
                upstream: "http://127.0.0.1:\(motoPort)", seed: UInt64(options.seed) &+ 1)
            awsProxyConfiguration.onForward = { method, _, body, status in
                guard method == "POST", (200..<300).contains(status) else { return }
                awsLog.record(body)
            }
            let proxy = FaultProxy(configuration: awsProxyConfiguration)
            aws = (moto, proxy, try proxy.start())
            controllerEnvironment = [
                "AWS_ENDPOINT_URL": "http://127.0.0.1:\(aws!.port)", "AWS_ACCESS_KEY_ID": "soak",
                "AWS_SECRET_ACCESS_KEY": "soak", "AWS_REGION": "us-east-1",
            ]
            let client = AWSClient(
                configuration: AWSConfiguration(
                    region: "us-east-1", credentials: AWSCredentials(accessKeyID: "soak", secretAccessKey: "soak"),
                    endpoint: "http://127.0.0.1:\(motoPort)", maxAttempts: 1))
            try await Self.waitFor("moto", timeout: .seconds(60)) {
                (try? await AutoScalingAPI(client: client).describeAutoScalingGroups()) != nil
            }
            for index in (options.policies - asgCount)..<options.policies {
                try await AutoScalingAPI(client: client).createGroup(
                    Self.groupName(index), desired: Self.initialCapacity(index), minSize: 0, maxSize: 20,
                    tags: [AccessRules.namespaceTag: "default"])
            }
        }
        defer { aws?.proxy.shutdown() }
        let controllers = (1...options.replicas).map { index in
            SoakProcess(
                name: "controller-\(index)", executable: options.executable,
                logPath: directory + "/logs/controller-\(index).log", environment: controllerEnvironment
            ) { start in
                [
                    "controller", "--kubeconfig", kubeconfig, "--identity", "controller-\(index)-\(start)",
                    "--simulator-url",
                    "http://127.0.0.1:\(simulatorPort)", "--speed", String(options.speed), "--virtual-start",
                    Timestamps.formatMicro(virtualStart), "--virtual-epoch", Timestamps.formatMicro(epoch),
                    "--model-root", directory + "/models", "--metrics-port", "0", "--no-dashboard", "--log-format",
                    "json", "--workers", "4", "--access-rules", rulesPath,
                ] + (asgCount > 0 ? ["--aws"] : [])
                    // The fast path under every fault class: each policy's present load checked each virtual minute.
                    + (options.fastChecks ? ["--simulated-fast-checks", "--min-fast-check-seconds", "60"] : [])
            }
        }
        var tls = TLSConfiguration()
        tls.certificateAuthority = .file(directory + "/apiserver/tls.crt")
        // The CA file appears once the server has started.
        try await Self.waitFor("the API server's certificate", timeout: .seconds(30)) {
            FileManager.default.fileExists(atPath: directory + "/apiserver/tls.crt")
        }
        let direct = KubernetesClient(
            connection: ClusterConnection(
                server: "https://127.0.0.1:\(apiPort)", tls: tls, authentication: .bearerToken(token)),
            fieldManager: "forescale-soak")
        defer { direct.shutdown() }
        let world = World(
            directory: directory, token: token, apiPort: apiPort, simulatorPort: simulatorPort, apiserver: apiserver,
            simulator: simulator, controllers: controllers, proxy: proxy, awsProxy: aws?.proxy, direct: direct,
            statusWrites: statusWrites, extra: aws.map { [$0.moto] } ?? [])
        defer {
            for process in world.processes where process.isRunning { process.signal(SIGKILL) }
            world.http.shutdown()
        }
        try await Self.waitFor("the API server", timeout: .seconds(30)) {
            (try? await direct.list(.configMaps, namespace: "default")) != nil
        }

        // The world: CRD, calendar, policies.
        let crd = try YAML.parse(
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: options.crd)), as: UTF8.self))
        _ = try await direct.create(.customResourceDefinitions, namespace: nil, crd)
        try await Self.waitFor("the ScalingPolicy CRD", timeout: .seconds(10)) {
            (try? await direct.list(.scalingPolicies, namespace: "default")) != nil
        }
        _ = try await direct.create(
            .configMaps, namespace: "default", try SeedScenario.calendarConfigMap(anchor: anchor))
        let policies = (0..<options.policies).map { index in
            index >= options.policies - asgCount
                ? Self.groupPolicy(index, model: "file://" + modelPath)
                : Self.policy(index, model: "file://" + modelPath)
        }
        for policy in policies { _ = try await direct.create(.scalingPolicies, namespace: "default", policy) }
        progress("soak: \(policies.count) policies; starting \(controllers.count) controllers")
        for controller in controllers { try controller.start() }

        // Watch the lease and memory while it runs.
        let sampler = Task {
            while !Task.isCancelled {
                let holder = await world.holder()
                world.lease.withLock { $0.append(.init(time: Date(), holder: holder)) }
                for process in world.processes { process.sampleMemory() }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { sampler.cancel() }
        // As a Deployment would: a controller that exits is started again a second later. One
        // that lost its lease exits 1 by design (its log says so): a restart, not a crash.
        let supervising = Locked(true)
        let leaseLossRestarts = Locked(0)
        let supervisor = Task {
            while !Task.isCancelled, supervising.value {
                for controller in controllers where !controller.isRunning {
                    guard let exit = controller.lastExit else { continue }
                    if !exit.expected, exit.status == 1, controller.lastLogLine.contains("lost the leader lease") {
                        controller.markLastExitExpected()
                        leaseLossRestarts.withLock { $0 += 1 }
                    }
                    try? await Task.sleep(for: .seconds(1))
                    if supervising.value, !controller.isRunning { try? controller.start() }
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { supervisor.cancel() }

        // Faults, one class after another over the first 70 % of the run.
        let total = options.virtualHours * 3600 / options.speed
        let faultWindow = total * 0.7
        let slot = options.faults.isEmpty ? 0 : faultWindow / Double(options.faults.count)
        try await Task.sleep(for: .seconds(min(total * 0.05, 10)))
        for fault in options.faults {
            let started = ContinuousClock.now
            progress("soak: \(fault) (\(String(format: "%.0f", slot)) s)")
            if try await inject(fault, for: slot, world: world, report: &report, virtualNow: virtualNow, step: step) {
                report.faultsInjected[fault, default: 0] += 1
            } else {
                progress("soak: \(fault) had nothing to act on")
            }
            let left = Duration.seconds(slot) - (ContinuousClock.now - started)
            if left > .zero { try await Task.sleep(for: left) }
        }
        world.proxy.clearRules()

        // After the faults: a leader, then a spec change every valid policy must reach.
        try await Self.waitFor("a lease holder", timeout: .seconds(60)) { await world.holder() != nil }
        let quietUntil = ContinuousClock.now + .seconds(max(2 * step, 1))
        try await Task.sleep(until: quietUntil)
        var expected: [String: Int] = [:]
        for index in 0..<options.policies {
            let name = Self.policyName(index)
            let patched = try await Self.retrying {
                try await direct.patch(
                    .scalingPolicies, namespace: "default", name: name,
                    .merge(["spec": ["maxCapacity": .integer(Int64(13 + index % 3))]]))
            }
            expected[name] = patched.value(at: ["metadata", "generation"])?.intValue
        }
        let changed = ContinuousClock.now
        let deadline = changed + .seconds(2 * step + 1)
        var pending = Set(expected.keys)
        while !pending.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            let items = (try? await direct.list(.scalingPolicies, namespace: "default").items) ?? []
            for item in items {
                let name = item.value(at: ["metadata", "name"])?.stringValue ?? ""
                if item.value(at: ["status", "observedGeneration"])?.intValue == expected[name] {
                    pending.remove(name)
                }
            }
        }
        if pending.isEmpty { report.convergenceSeconds = (ContinuousClock.now - changed).seconds }
        report.unconverged = pending.sorted().map { "\($0): observedGeneration behind after two steps" }
        // Let the run's remaining time pass (actions keep being checked).
        let end = began + .seconds(total)
        if ContinuousClock.now < end { try await Task.sleep(until: end) }

        // Stop the controllers gracefully, then judge.
        supervising.withLock { $0 = false }
        supervisor.cancel()
        await supervisor.value
        report.leaseLossRestarts = leaseLossRestarts.value
        for controller in controllers where controller.isRunning { controller.signal(SIGTERM) }
        for controller in controllers { await controller.waitForExit() }
        sampler.cancel()
        let final = try await direct.list(.scalingPolicies, namespace: "default").items
        let entries =
            world.ledger()
            + awsLog.entries(
                virtual: { virtualStart.addingTimeInterval($0.timeIntervalSince(epoch) * options.speed) },
                initial: Self.initialCapacity)
        report.groupCapacitySets = entries.filter { $0.target.hasPrefix("aws/") }.count
        let applied = entries.filter { !$0.duplicate }
        let capacities = Dictionary(grouping: applied, by: { (entry: SimulatorService.Entry) in entry.target })
            .mapValues { $0.max { $0.sequence < $1.sequence }?.capacity }
        var checked: [SoakLedger.Policy] = []
        for item in final {
            let name = item.value(at: ["metadata", "name"])?.stringValue ?? ""
            guard case .success(let spec) = PolicySpec.parse(item["spec"]) else { continue }
            let target = spec.targetKind == .autoScalingGroup ? "aws/\(spec.targetName)" : "default/\(spec.targetName)"
            checked.append(
                SoakLedger.Policy(
                    target: target, scaleUpCooldown: spec.scaleUpCooldownSeconds,
                    scaleDownCooldown: spec.scaleDownCooldownSeconds, staleAfter: spec.staleAfterSeconds,
                    // A group's ledger has no action ids (the proxy sees only the capacity).
                    lastActionID: spec.targetKind == .autoScalingGroup
                        ? nil : item.value(at: ["status", "lastAction", "id"])?.stringValue,
                    initialCapacity: spec.simulation?.initialCapacity,
                    loadFromSimulator: spec.targetKind == .simulated))
            // The world and the record agree at the end.
            // (A pending action that reached the target is consistent: its confirmation was the
            // write the stop cut short, and the next pass would make it.)
            let pending = item.value(at: ["status", "pendingAction", "to"])?.intValue
            if spec.mode != .forecastOnly, let recorded = item.value(at: ["status", "currentCapacity"])?.intValue,
                let actual = capacities[target] ?? spec.simulation?.initialCapacity, recorded != actual,
                pending != actual
            {
                report.unconverged.append("\(name): status says \(recorded), the target has \(actual)")
            }
        }
        report.policiesChecked = checked.count
        let gaps = entries.isEmpty ? [] : Self.gaps(directory + "/ledger.jsonl")
        report.verdict = SoakLedger.check(
            entries: entries, policies: checked, gaps: gaps, lease: world.lease.withLock { $0 })
        report.instanceHours = SoakLedger.instanceHours(
            entries: entries, policies: checked, start: virtualStart,
            end: virtualStart.addingTimeInterval(options.virtualHours * 3600))
        simulator.signal(SIGTERM)
        apiserver.signal(SIGTERM)
        await simulator.waitForExit()
        await apiserver.waitForExit()
        aws?.moto.signal(SIGTERM)
        if let moto = aws?.moto { await moto.waitForExit() }
        for process in world.processes {
            report.peakRSSMB[process.name] = process.peakMB
            report.crashes += process.crashes.map { "\(process.name) exited with status \($0)" }
            report.fastCheckActions += process.logLines {
                $0.contains(#""msg":"scaled""#) && $0.contains(#""reason":"PresentLoadAboveTarget""#)
            }
        }
        report.proxyCounts = proxy.counts
        if let awsCounts = aws?.proxy.counts {
            report.proxyCounts.requests += awsCounts.requests
            report.proxyCounts.upstreamErrors += awsCounts.upstreamErrors
            report.proxyCounts.injected.merge(awsCounts.injected) { $0 + $1 }
        }
        report.wallSeconds = (ContinuousClock.now - began).seconds
        return report
    }

    // MARK: Faults

    /// Injects one fault class; false when it had nothing to act on (no lease holder, no AWS).
    private func inject(
        _ fault: String, for seconds: Double, world: World, report: inout Report, virtualNow: () -> Date,
        step: Double
    ) async throws -> Bool {
        let active = Duration.seconds(seconds * 0.6)
        func rules(_ rules: [FaultRule]) async throws {
            world.proxy.rules = rules
            try await Task.sleep(for: active)
            world.proxy.clearRules()
        }
        let notWatches = "watch=true"
        switch fault {
        case "api-errors":
            try await rules([
                FaultRule(name: "api-errors", fault: .status(500, retryAfterSeconds: nil), probability: 0.3)
            ])
        case "throttle":
            try await rules([FaultRule(name: "throttle", fault: .status(429, retryAfterSeconds: 1), probability: 0.3)])
        case "resets":
            try await rules([
                FaultRule(name: "reset-mid-body", method: "GET", fault: .resetMidBody, probability: 0.1),
                FaultRule(name: "truncate", method: "GET", fault: .truncate, probability: 0.1),
                FaultRule(name: "reset", method: "PATCH", fault: .reset, probability: 0.1),
            ])
        case "watch-drops":
            try await rules([
                FaultRule(name: "watch-drops", contains: notWatches, fault: .dropStream(afterMilliseconds: 500))
            ])
        case "compaction":
            for hook in ["compact", "drop-watches"] {
                _ = try? await world.http.execute(
                    HTTPRequest(
                        method: "POST", url: "https://127.0.0.1:\(world.apiPort)/forescale-test/v1/\(hook)",
                        headers: ["Authorization": "Bearer \(world.token)"], body: Data("{}".utf8)))
            }
        case "apiserver-kill":
            let before = try await Self.snapshot(world.direct)
            world.apiserver.signal(SIGKILL)
            await world.apiserver.waitForExit()
            try await Task.sleep(for: .seconds(1))
            try world.apiserver.start()
            let restarted = Date()
            try await Self.waitFor("the restarted API server", timeout: .seconds(30)) {
                (try? await world.direct.list(.configMaps, namespace: "default")) != nil
            }
            let after = try await Self.snapshot(world.direct)
            for (key, version) in before {
                guard let now = after[key] else {
                    report.objectsLost.append("\(key) (resourceVersion \(version)) missing after the restart")
                    continue
                }
                if now < version { report.objectsLost.append("\(key) went back from \(version) to \(now)") }
            }
            try await Self.waitFor("a status write after the restart", timeout: .seconds(60)) {
                world.statusWrites.times.withLock { $0.contains { $0 > restarted } }
            }
            if let first = world.statusWrites.times.withLock({ $0.first { $0 > restarted } }) {
                report.statusWriteAfterRestart.append(first.timeIntervalSince(restarted))
            }
        case "leader-kill", "leader-term":
            guard let holder = await world.holder(), let leader = world.controller(named: holder) else { return false }
            let stopped = Date()
            leader.signal(fault == "leader-kill" ? SIGKILL : SIGTERM)
            await leader.waitForExit()
            // The supervisor starts it again (a new pod, a new identity) a second later.
            let deadline = ContinuousClock.now + .seconds(40)
            while ContinuousClock.now < deadline {
                if let next = await world.holder(), next != holder {
                    let took = Date().timeIntervalSince(stopped)
                    if fault == "leader-kill" {
                        report.leaseTakeoverAfterKill.append(took)
                    } else {
                        report.leaseTakeoverAfterTerm.append(took)
                    }
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            if fault == "leader-kill" {
                // The first action by another replica after the kill (if one fell due in the slot).
                try await Task.sleep(for: active)
                if let first = world.ledger().first(where: { $0.received > stopped && $0.identity != holder }) {
                    report.firstActionAfterKill.append(first.received.timeIntervalSince(stopped))
                }
            }
        case "aws-throttle":
            guard let awsProxy = world.awsProxy else { return false }
            awsProxy.rules = [
                FaultRule(name: "aws-throttle", fault: .aws(status: 400, code: "Throttling"), probability: 0.5)
            ]
            try await Task.sleep(for: active)
            awsProxy.clearRules()
        case "corrupt-model":
            let path = world.directory + "/models/seed-load.fsm"
            let good = try Data(contentsOf: URL(fileURLWithPath: path))
            var garbage = good
            for index in stride(from: 64, to: garbage.count, by: 97) { garbage[index] ^= 0x5A }
            try AtomicFile.write(garbage, to: path)
            try await Task.sleep(for: active)
            try AtomicFile.write(good, to: path)
        case "metrics-gap":
            let start = virtualNow()
            let gap: JSONValue = [
                "start": .string(Timestamps.formatMicro(start)),
                "end": .string(Timestamps.formatMicro(start.addingTimeInterval(6 * 300))),
            ]
            _ = try await world.http.execute(
                HTTPRequest(
                    method: "POST", url: "http://127.0.0.1:\(world.simulatorPort)/v1/gaps",
                    headers: ["Content-Type": "application/json"], body: gap.serialized()))
        default:
            return false
        }
        return true
    }

    // MARK: Helpers

    static func policyName(_ index: Int) -> String { String(format: "p%04d", index) }

    /// Every mode, calendars and the model on the model-based ones, offsets spread over the
    /// trace, about one in twenty invalid in a way the CRD cannot see.
    static func policy(_ index: Int, model: String) -> JSONValue {
        let modes = ["Predictive", "Reactive", "Threshold", "Predictive", "ForecastOnly", "Predictive"]
        let mode = modes[index % modes.count]
        var policy = SeedScenario.policy(
            name: policyName(index), mode: mode, modelURL: mode == "Reactive" ? nil : model,
            calendar: mode == "Reactive" ? nil : "shop-calendar", initialCapacity: 2 + index % 3)
        policy.setValue(
            .integer(Int64(SeedScenario.startOffsetSteps + (index % 7) * 288 - 288 * 3)),
            at: ["spec", "target", "simulation", "startOffsetSteps"])
        if index % 20 == 19 {
            policy.setValue([["name": "network_in", "query": "rate(x[5m])"]], at: ["spec", "metrics", "inputs"])
        }
        // A scale-up cooldown (the default is 0, as HPA's): the ledger tells a decision applied twice from the next
        // by it, and the fast checks must respect it too.
        policy.setValue(120, at: ["spec", "behavior", "scaleUp", "cooldownSeconds"])
        return policy
    }

    static func groupName(_ index: Int) -> String { "asg-\(policyName(index))" }
    static func initialCapacity(_ index: Int) -> Int { 2 + index % 3 }

    /// A policy on an Auto Scaling group in moto, its load replayed from the trace.
    static func groupPolicy(_ index: Int, model: String) -> JSONValue {
        var policy = self.policy(index, model: model)
        let mode = index % 2 == 0 ? "Predictive" : "Reactive"
        policy.setValue(.string(mode), at: ["spec", "mode"])
        if mode == "Reactive" {
            policy.setValue(nil, at: ["spec", "model"])
            policy.setValue(nil, at: ["spec", "calendar"])
        }
        policy.setValue("AutoScalingGroup", at: ["spec", "target", "kind"])
        policy.setValue(.string(groupName(index)), at: ["spec", "target", "name"])
        policy.setValue("us-east-1", at: ["spec", "target", "region"])
        policy.setValue("simulated", at: ["spec", "metrics", "source"])
        policy.setValue(nil, at: ["spec", "metrics", "inputs"])
        return policy
    }

    /// Every object's resourceVersion by kind/namespace/name (what a restart must keep).
    static func snapshot(_ client: KubernetesClient) async throws -> [String: Int] {
        var versions: [String: Int] = [:]
        for resource in [ResourceRef.scalingPolicies, .configMaps, .customResourceDefinitions] {
            let items = try await retrying { try await client.listAll(resource, namespace: nil).items }
            for item in items {
                let key =
                    "\(resource.plural)/\(item.value(at: ["metadata", "namespace"])?.stringValue ?? "")/"
                    + "\(item.value(at: ["metadata", "name"])?.stringValue ?? "")"
                versions[key] = Int(item.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
            }
        }
        return versions
    }

    static func gaps(_ ledgerPath: String) -> [SimulatorService.Gap] {
        guard let data = FileManager.default.contents(atPath: ledgerPath) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard let value = try? JSONValue(parsing: Data(line)),
                let start = value["gapStart"]?.stringValue.flatMap(Timestamps.parse),
                let end = value["gapEnd"]?.stringValue.flatMap(Timestamps.parse)
            else { return nil }
            return SimulatorService.Gap(target: value["gapTarget"]?.stringValue, start: start, end: end)
        }
    }

    static func waitFor(_ what: String, timeout: Duration, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw SoakError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func retrying<T>(_ work: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do { return try await work() } catch {
                attempt += 1
                if attempt >= 20 { throw error }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}
