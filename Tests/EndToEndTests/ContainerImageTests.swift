import Foundation
import TestSupport
import Testing

/// The container images, without a Docker engine: each Dockerfile's build stage runs
/// `make image-binaries`, which `make test` runs here first; this checks that the products
/// are fresh, static in the Swift runtime, run, and need no shared library the runtime
/// stage's packages (on debian:bookworm-slim) do not provide.
@Suite struct ContainerImageTests {
    struct Dockerfile {
        var buildStage: [String]
        var runtimeStage: [String]

        init(_ text: String) {
            // Join continuation lines, drop comments, split into stages at FROM.
            let lines = text.replacingOccurrences(of: "\\\n", with: " ").split(separator: "\n").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            let starts = lines.indices.filter { lines[$0].hasPrefix("FROM ") }
            buildStage = starts.count > 1 ? Array(lines[starts[0]..<starts[1]]) : []
            runtimeStage = starts.last.map { Array(lines[$0...]) } ?? []
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

        /// (source under /src, destination) of `COPY --from=build`.
        var copiedFromBuild: [(source: String, destination: String)] {
            runtimeStage.compactMap { line in
                let words = line.split(separator: " ").map(String.init)
                guard words.count == 4, words[0] == "COPY", words[1] == "--from=build", words[2].hasPrefix("/src/")
                else { return nil }
                return (String(words[2].dropFirst("/src/".count)), words[3])
            }
        }

        var entrypoint: String? {
            runtimeStage.first { $0.hasPrefix("ENTRYPOINT ") }.flatMap {
                $0.split(separator: "\"").dropFirst().first.map(String.init)
            }
        }
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

    @Test(arguments: ["Dockerfile.controller", "Dockerfile.trainer"])
    func imageBuildStepProducesWhatTheRuntimeStageCanRun(_ name: String) async throws {
        let dockerfile = Dockerfile(try String(contentsOf: Fixtures.root.appendingPathComponent(name), encoding: .utf8))
        #expect(dockerfile.buildStage.first?.hasPrefix("FROM swift:6") == true, "a Swift 6 build image")
        #expect(
            dockerfile.buildStage.contains("RUN make image-binaries"),
            "the build step is the Makefile target make test runs")
        let buildPackages = Set(Dockerfile.aptPackages(dockerfile.buildStage))
        #expect(
            buildPackages.isSuperset(of: ["libcurl4-openssl-dev", "libssl-dev", "libxml2-dev", "pkg-config", "make"]))
        #expect(dockerfile.runtimeStage.first?.hasPrefix("FROM debian:bookworm-slim") == true)
        #expect(dockerfile.runtimeStage.contains("USER 65532"), "non-root")
        let runtimePackages = Dockerfile.aptPackages(dockerfile.runtimeStage)
        #expect(Set(runtimePackages).isSuperset(of: ["ca-certificates", "tzdata"]))

        let makefile = try String(contentsOf: Fixtures.root.appendingPathComponent("Makefile"), encoding: .utf8)
        let recipe =
            makefile.components(separatedBy: "\nimage-binaries:").last?.components(separatedBy: "\n\n").first ?? ""
        #expect(recipe.contains("--static-swift-stdlib") && recipe.contains("-c release"))

        let binaries = dockerfile.copiedFromBuild.filter { $0.source.hasPrefix(".build/release/") }
        #expect(
            binaries.count == 1 && binaries.first?.destination == dockerfile.entrypoint,
            "the entrypoint is the copied binary")
        #expect(dockerfile.copiedFromBuild.contains { $0.source == "Models" }, "default models ship in the image")
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
                    "\(binary.source) needs \(library) from \(owner), which the runtime stage of \(name) does not install"
                )
            }
            let help = try await Subprocess.run(path, ["--help"])
            #expect(help.status == 0 && help.stdout.contains("Usage:"), "\(help.stdout)\(help.stderr)")
        }
    }
}
