import Foundation
import KubeCore
import TestSupport
import Testing

/// The product, the lab and the simulation as parts the package keeps apart: the images' executables link none of
/// the lab or the simulation (by the package graph, and by the symbols of the built binaries), and every target
/// declares exactly the package targets its sources import.
@Suite struct ProductBoundaryTests {
    /// Targets that ship only in the `forescale` CLI and the lab.
    static let notInImages: Set<String> = ["Lab", "CLI", "Simulation", "APIServer", "FaultProxy"]

    struct Target {
        var name: String
        var type: String
        var path: String
        var dependencies: [String]
    }

    static func package() async throws -> (targets: [String: Target], products: [String: [String]]) {
        let swift = ProcessInfo.processInfo.environment["SWIFT"] ?? "swift"
        // A scratch path of its own: `swift test` holds the lock on .build while the tests run.
        let scratch = try TemporaryDirectory("forescale-dump-package")
        defer { scratch.remove() }
        let dump = try await Subprocess.run(
            swift, ["package", "--package-path", Fixtures.root.path, "--scratch-path", scratch.path, "dump-package"])
        try #require(dump.status == 0, "swift package dump-package: \(dump.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        var targets: [String: Target] = [:]
        for target in json["targets"] as? [[String: Any]] ?? [] {
            let name = target["name"] as? String ?? ""
            let type = target["type"] as? String ?? ""
            let dependencies = (target["dependencies"] as? [[String: Any]] ?? []).compactMap { dependency in
                // {"byName": ["X", null]} or {"target": ["X", null]}
                (dependency.values.first as? [Any])?.first as? String
            }
            let path = target["path"] as? String ?? (type == "test" ? "Tests/\(name)" : "Sources/\(name)")
            targets[name] = Target(name: name, type: type, path: path, dependencies: dependencies)
        }
        var products: [String: [String]] = [:]
        for product in json["products"] as? [[String: Any]] ?? [] {
            products[product["name"] as? String ?? ""] = product["targets"] as? [String] ?? []
        }
        return (targets, products)
    }

    static func closure(_ roots: [String], _ targets: [String: Target]) -> Set<String> {
        var seen: Set<String> = []
        var todo = roots
        while let name = todo.popLast() {
            guard seen.insert(name).inserted, let target = targets[name] else { continue }
            todo += target.dependencies
        }
        return seen
    }

    @Test func theImagesExecutablesLinkNoLabAndNoSimulation() async throws {
        let (targets, products) = try await Self.package()
        for product in ["forescale-controller", "forescale-trainer"] {
            let linked = Self.closure(try #require(products[product]), targets)
            #expect(
                linked.isDisjoint(with: Self.notInImages), "\(product) links \(linked.intersection(Self.notInImages))")
            #expect(linked.contains("Autoscaler") && linked.contains("Commands"))
        }
        // The CLI has the simulation (backtest, Simulated policies) but not the lab.
        let cli = Self.closure(try #require(products["forescale"]), targets)
        #expect(cli.contains("Simulation") && !cli.contains("Lab") && !cli.contains("APIServer"))
        #expect(Self.closure(try #require(products["forescale-lab"]), targets).isSuperset(of: Self.notInImages))
        // The pure core and the controller library stay free of the simulation.
        for core in ["PolicyEngine", "Autoscaler"] {
            #expect(!Self.closure([core], targets).contains("Simulation"), "\(core) depends on Simulation")
        }
    }

    /// The built executables hold no symbol of a module they must not link (Swift mangles a module as
    /// `$s<length><name>`). The images are built from these products (`make image-binaries`).
    @Test(arguments: ["forescale-controller", "forescale-trainer"])
    func theBuiltExecutableHasNoLabSymbol(_ product: String) async throws {
        guard let binary = Fixtures.executable(product) else {
            Issue.record("\(product) is not built: make test builds it first")
            return
        }
        let symbols = try await Subprocess.run("nm", ["--defined-only", binary])
        try #require(symbols.status == 0, "nm \(binary): \(symbols.stderr)")
        let mangled = Self.notInImages.map { "$s\($0.utf8.count)\($0)" }
        let lines = symbols.stdout.split(separator: "\n")
        #expect(lines.count > 1000, "nm read the symbols of \(binary)")
        #expect(lines.contains { $0.contains("$s10Autoscaler") }, "the controller library is in \(binary)")
        for prefix in mangled {
            let offending = lines.filter { $0.contains(prefix) }.prefix(3)
            #expect(offending.isEmpty, "\(binary) holds \(prefix)…: \(offending.joined(separator: "; "))")
        }
    }

    /// Every `import` of a package target is declared, and every declared target is imported.
    @Test func everyImportIsDeclaredAndNoneIsUnused() async throws {
        let (targets, _) = try await Self.package()
        let names = Set(targets.keys)
        for target in targets.values where target.type != "system" {
            let directory = Fixtures.root.appendingPathComponent(target.path)
            let files = (FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".swift") }
            guard !files.isEmpty else { continue }  // C targets
            var imported: Set<String> = []
            for file in files {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
                    guard words.count >= 2, words[0] == "import" || words.dropFirst().first == "import" else {
                        continue
                    }
                    let module = String(words[words[0] == "import" ? 1 : 2])
                    if names.contains(module) { imported.insert(module) }
                }
            }
            let declared = Set(target.dependencies).intersection(names)
            #expect(
                imported.subtracting(declared).isEmpty,
                "\(target.name) imports \(imported.subtracting(declared).sorted()) without declaring them")
            #expect(
                declared.subtracting(imported).isEmpty,
                "\(target.name) declares \(declared.subtracting(imported).sorted()) and never imports them")
        }
    }

    /// The images' controller has no simulation: a Simulated policy is refused with the reason, on the policy, and
    /// the same policy runs under `forescale controller` (LocalPathTests).
    @Test(.enabled(if: Subprocess.isAvailable("kubectl"))) func theImageControllerRefusesASimulatedPolicy() async throws
    {
        guard let product = Fixtures.executable("forescale-controller") else { throw ForescaleBinary.NotBuilt() }
        let directory = try TemporaryDirectory("forescale-boundary")
        defer { directory.remove() }
        let (apiserver, kubeconfig) = try await ForescaleBinary.startAPIServer(in: directory)
        defer { apiserver.stop() }
        let root = Fixtures.root.path
        for file in ["crds/scalingpolicy.yaml", "examples/policies/simulated.yaml"] {
            let applied = try await Subprocess.run(
                "kubectl", ["--kubeconfig", kubeconfig, "apply", "-f", "\(root)/\(file)"])
            #expect(applied.status == 0, "\(applied.stderr)")
            if file.hasPrefix("crds/") {
                _ = try await Subprocess.run(
                    "kubectl",
                    [
                        "--kubeconfig", kubeconfig, "wait", "--for=condition=Established",
                        "crd/scalingpolicies.forescale.io",
                    ])
            }
        }
        let controller = try BackgroundProcess(
            product,
            [
                "--kubeconfig", kubeconfig, "--leader-elect", "false", "--model-root", "/models=\(root)/Models",
                "--access-rules", "\(root)/examples/access-rules/local.yaml", "--metrics-port", "0", "--no-dashboard",
            ])
        defer { Task { _ = await controller.kill9() } }
        var ready: JSONValue?
        for _ in 0..<60 where ready == nil {
            try await Task.sleep(for: .milliseconds(500))
            let got = try await Subprocess.run(
                "kubectl", ["--kubeconfig", kubeconfig, "get", "sp", "web-simulated", "-o", "json"])
            guard got.status == 0 else { continue }
            ready = try JSONValue(parsing: Data(got.stdout.utf8)).value(at: ["status", "conditions"])?.arrayValue?.first
            {
                $0["type"] == "Ready"
            }
        }
        #expect(ready?["status"] == "False" && ready?["reason"] == "TargetUnavailable", "\(String(describing: ready))")
        #expect(
            ready?["message"]?.stringValue?.contains("simulated targets and metrics are not in this build") == true,
            "\(String(describing: ready))")
        _ = await controller.kill9()
    }
}
