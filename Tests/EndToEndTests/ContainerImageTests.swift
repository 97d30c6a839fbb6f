import Foundation
import TestSupport
import Testing

/// The container images' Dockerfile, without an engine: its build stage runs `make image-binaries`, which
/// `make test` runs here first, with the Swift version the tests use; this checks that the products are fresh,
/// static in the Swift runtime, run, and need no shared library the runtime stage's packages (on
/// debian:bookworm-slim) do not provide. `ImageTests` builds and runs the images themselves.
@Suite struct ContainerImageTests {
    /// The Dockerfile's stages by name, continuation lines joined and comments dropped.
    struct Dockerfile {
        var stages: [String: [String]] = [:]

        init(_ text: String) {
            let lines = text.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            var name = ""
            for line in lines {
                if line.hasPrefix("FROM ") {
                    let words = line.split(separator: " ").map(String.init)
                    name = words.count == 4 && words[2].uppercased() == "AS" ? words[3] : "stage\(stages.count)"
                }
                stages[name, default: []].append(line)
            }
        }

        /// The image a stage starts from.
        func base(_ stage: String) -> String? {
            stages[stage]?.first?.split(separator: " ").dropFirst().first.map(String.init)
        }

        /// Packages of `apt-get install` commands in a stage.
        static func aptPackages(_ stage: [String]) -> [String] {
            stage.flatMap { line -> [String] in
                line.components(separatedBy: "&&").flatMap { command -> [String] in
                    let words = command.split(separator: " ").map(String.init)
                    guard let install = words.firstIndex(of: "install"), words.contains("apt-get") else { return [] }
                    return words[(install + 1)...].filter { !$0.hasPrefix("-") }
                }
            }
        }

        /// (source under /src, destination) of a stage's `COPY --from=build`.
        func copiedFromBuild(_ stage: String) -> [(source: String, destination: String)] {
            (stages[stage] ?? []).compactMap { line in
                let words = line.split(separator: " ").map(String.init)
                guard words.count == 4, words[0] == "COPY", words[1] == "--from=build", words[2].hasPrefix("/src/")
                else { return nil }
                return (String(words[2].dropFirst("/src/".count)), words[3])
            }
        }

        func entrypoint(_ stage: String) -> String? {
            stages[stage]?.first { $0.hasPrefix("ENTRYPOINT ") }.flatMap {
                $0.split(separator: "\"").dropFirst().first.map(String.init)
            }
        }
    }

    static func dockerfile() throws -> Dockerfile {
        Dockerfile(try String(contentsOf: Fixtures.root.appendingPathComponent("Dockerfile"), encoding: .utf8))
    }

    /// The version of the toolchain the tests were built with (`swift --version`, as make test runs it).
    static func toolchainVersion() async throws -> String? {
        let swift = ProcessInfo.processInfo.environment["SWIFT"] ?? "swift"
        let version = try await Subprocess.run(swift, ["--version"])
        guard let range = version.stdout.range(of: "Swift version ") else { return nil }
        return String(version.stdout[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    /// Every package `packages` pull in (Depends and Pre-Depends, recursively).
    static func closure(_ packages: [String]) async throws -> Set<String> {
        let result = try await Subprocess.run(
            "apt-cache",
            [
                "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                "--no-replaces", "--no-enhances",
            ] + packages)
        return Set(
            result.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }.map {
                String($0.split(separator: ":").first ?? $0)
            })
    }

    /// The Debian package that ships a shared library (by its resolved path, /usr-merged or not).
    static func package(owning library: String) async throws -> String? {
        let real = URL(fileURLWithPath: library).resolvingSymlinksInPath().path
        let name = URL(fileURLWithPath: library).lastPathComponent
        for candidate in [
            library, real, "/usr" + library, "/usr" + real, "/usr/lib/x86_64-linux-gnu/" + name,
            "/lib/x86_64-linux-gnu/" + name,
        ] {
            let result = try await Subprocess.run("dpkg", ["-S", candidate])
            if result.status == 0, let owner = result.stdout.split(separator: ":").first { return String(owner) }
        }
        return nil
    }

    static let newestSource: Date = {
        let sources = Fixtures.root.appendingPathComponent("Sources")
        let files =
            (FileManager.default.enumerator(atPath: sources.path)?.allObjects as? [String] ?? []).map {
                sources.appendingPathComponent($0).path
            }
            + [Fixtures.root.appendingPathComponent("Package.swift").path]
        return files.compactMap { try? FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date }
            .max() ?? .distantPast
    }()

    @Test func theBuildStageUsesTheTestedSwiftAndTheRuntimeStageIsSlimAndNonRoot() async throws {
        let dockerfile = try Self.dockerfile()
        let version = try #require(try await Self.toolchainVersion())
        #expect(
            dockerfile.base("build") == "docker.io/library/swift:\(version)-bookworm",
            "the build stage's Swift is the tested one (\(version)): \(dockerfile.base("build") ?? "none")")
        let build = dockerfile.stages["build"] ?? []
        #expect(build.contains("RUN make image-binaries"), "the build step is the Makefile target make test runs")
        #expect(
            Set(Dockerfile.aptPackages(build)).isSuperset(of: [
                "libcurl4-openssl-dev", "libssl-dev", "libxml2-dev", "pkg-config", "make",
            ]))
        #expect(dockerfile.base("runtime") == "docker.io/library/debian:bookworm-slim")
        #expect(dockerfile.stages["runtime"]?.contains("USER 65532") == true, "non-root")
        #expect(
            Set(Dockerfile.aptPackages(dockerfile.stages["runtime"] ?? [])).isSuperset(of: [
                "ca-certificates", "tzdata",
            ]))
        #expect(dockerfile.copiedFromBuild("runtime").contains { $0.source == "Models" }, "default models ship")
        for target in ["controller", "trainer"] {
            #expect(dockerfile.base(target) == "runtime", "\(target) runs on the runtime stage")
        }
        // Swift appears nowhere else: this FROM line is the one place that states the version.
        let text = try String(contentsOf: Fixtures.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(text.components(separatedBy: version).count == 2)
    }

    @Test(arguments: ["controller", "trainer"])
    func imageBuildStepProducesWhatTheRuntimeStageCanRun(_ target: String) async throws {
        let dockerfile = try Self.dockerfile()
        let runtimePackages = Dockerfile.aptPackages(dockerfile.stages["runtime"] ?? [])
        let makefile = try String(contentsOf: Fixtures.root.appendingPathComponent("Makefile"), encoding: .utf8)
        let recipe =
            makefile.components(separatedBy: "\nimage-binaries:").last?.components(separatedBy: "\n\n").first ?? ""
        #expect(recipe.contains("--static-swift-stdlib") && recipe.contains("-c release"))

        let binaries = dockerfile.copiedFromBuild(target).filter { $0.source.hasPrefix(".build/release/") }
        #expect(
            binaries.count == 1 && binaries.first?.destination == dockerfile.entrypoint(target)
                && binaries.first?.source == ".build/release/forescale-\(target)",
            "the entrypoint is the copied binary")
        // The slim base image has apt and what it needs; everything else comes from the stage's packages.
        let available = try await Self.closure(runtimePackages + ["apt"])
        #expect(available.contains("libcurl4") && available.contains("libc6"))

        for binary in binaries {
            let path = Fixtures.root.appendingPathComponent(binary.source).path
            guard let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
            else {
                Issue.record(
                    "\(binary.source) is missing: `make test` runs `make image-binaries` first (or run it yourself)")
                continue
            }
            #expect(
                modified >= Self.newestSource,
                "\(binary.source) is older than the sources: run `make image-binaries` (make test does)")
            let ldd = try await Subprocess.run("ldd", [path])
            #expect(ldd.status == 0)
            #expect(
                !ldd.stdout.contains("libswift") && !ldd.stdout.contains("libFoundation"),
                "the Swift runtime is linked statically:\n\(ldd.stdout)")
            #expect(!ldd.stdout.contains("not found"))
            let libraries = ldd.stdout.split(separator: "\n").compactMap { line -> String? in
                guard let arrow = line.range(of: "=> ") else { return nil }
                return line[arrow.upperBound...].split(separator: " ").first.map(String.init)
            }
            #expect(libraries.count >= 5)
            for library in libraries {
                guard let owner = try await Self.package(owning: library) else {
                    Issue.record("\(library) (needed by \(binary.source)) belongs to no Debian package")
                    continue
                }
                let isProvided = available.contains(owner)
                #expect(
                    isProvided,
                    "\(binary.source) needs \(library) from \(owner), which the runtime stage does not install"
                )
            }
            let help = try await Subprocess.run(path, ["--help"])
            #expect(help.status == 0 && help.stdout.contains("Usage:"), "\(help.stdout)\(help.stderr)")
        }
    }
}
