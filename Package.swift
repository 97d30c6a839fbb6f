// swift-tools-version:6.0
import PackageDescription

// Release builds of the numeric kernels target Haswell (AVX2 + FMA, x86-64-v3 class; see
// README "CPU floor"). Debug builds keep the default target so they compile fast.
let releaseCPU: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"], .when(platforms: [.linux], configuration: .release))
]

let package = Package(
    name: "Forescale",
    products: [
        .executable(name: "forescale", targets: ["forescale"]),
        .executable(name: "forescale-controller", targets: ["forescale-controller"]),
        .executable(name: "forescale-trainer", targets: ["forescale-trainer"]),
        .executable(name: "forescale-lab", targets: ["forescale-lab"]),
    ],
    targets: [
        // Leaves: pure or system-library targets.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "Digest"),
        .target(name: "FileIO"),
        .target(name: "AWSSigning", dependencies: ["Digest"]),
        .target(name: "KubeCore"),
        .target(
            name: "Forecasting", dependencies: ["Digest", "FileIO", "CPUFeatures", "WideKernels"],
            swiftSettings: releaseCPU),
        // AVX-512 micro-kernels, compiled for Skylake-AVX512 (x86-64-v4 class) in release builds and entered only
        // when CPUFeatures says the machine has it (the rest stays at the Haswell floor).
        .target(
            name: "WideKernels",
            swiftSettings: [
                .unsafeFlags(["-target-cpu", "skylake-avx512"], .when(platforms: [.linux], configuration: .release))
            ]),
        .target(name: "CPUFeatures"),
        // The pure heart of a reconcile: spec, observation, decide, status, step. No I/O
        // target may be added here.
        .target(name: "PolicyEngine", dependencies: ["KubeCore", "Forecasting", "AWSSigning"]),

        // I/O.
        .target(name: "CTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "Transport", dependencies: ["CCurl", "CTLS"]),
        .target(name: "FaultProxy", dependencies: ["Transport"]),
        .target(name: "Cloud", dependencies: ["Transport", "AWSSigning", "Digest", "KubeCore"]),
        .target(name: "ChildProcess"),
        .target(name: "KubeClient", dependencies: ["KubeCore", "Transport", "ChildProcess"]),
        .target(name: "APIServer", dependencies: ["KubeCore", "Transport", "Digest", "FileIO"]),
        .target(
            name: "Autoscaler",
            dependencies: ["KubeCore", "KubeClient", "Forecasting", "PolicyEngine", "Cloud", "Transport"]),

        // The product's commands: the controller and trainer (the images link only these and what they import),
        // and the `forescale` CLI's train, evaluate, predict and generate.
        .target(
            name: "Commands",
            dependencies: [
                "Forecasting", "FileIO", "KubeCore", "KubeClient", "PolicyEngine", "Autoscaler", "Cloud",
            ]),
        .executableTarget(name: "forescale-controller", dependencies: ["Commands"]),
        .executableTarget(name: "forescale-trainer", dependencies: ["Commands"]),

        // The simulated world as a target plug-in (trace replay, the seed scenario) and the backtest built on it:
        // in the `forescale` CLI and the lab, never in the images.
        .target(
            name: "Simulation",
            dependencies: [
                "Autoscaler", "PolicyEngine", "Forecasting", "KubeCore", "KubeClient", "Cloud",
            ]),
        .target(
            name: "CLI",
            dependencies: ["Commands", "Simulation", "Autoscaler", "PolicyEngine", "Forecasting", "FileIO", "KubeCore"]),
        .executableTarget(name: "forescale", dependencies: ["CLI", "Commands"]),

        // The laboratory: soak, benchmarks, fault proxy, shared simulator, embedded API server, demo.
        .target(
            name: "Lab",
            dependencies: [
                "CLI", "Commands", "Simulation", "APIServer", "FaultProxy", "Transport", "Forecasting", "FileIO",
                "KubeCore", "KubeClient", "PolicyEngine", "Autoscaler", "ChildProcess", "Cloud", "AWSSigning",
            ]),
        .executableTarget(name: "forescale-lab", dependencies: ["Lab", "Commands"]),

        // Tests, one folder per tier (see Tests/README.md).
        .target(
            name: "TestSupport",
            dependencies: [
                "Transport", "AWSSigning", "Cloud", "ChildProcess", "APIServer", "KubeCore", "KubeClient",
            ], path: "Tests/TestSupport"),
        .testTarget(
            name: "UnitTests",
            dependencies: [
                "Transport", "Forecasting", "Digest", "AWSSigning", "KubeCore", "KubeClient", "APIServer",
                "PolicyEngine", "Autoscaler", "Simulation", "Lab", "TestSupport", "Cloud", "CPUFeatures",
            ]),
        .testTarget(
            name: "ScenarioTests",
            dependencies: [
                "KubeCore", "KubeClient", "PolicyEngine", "Autoscaler", "Simulation", "Forecasting", "TestSupport",
            ]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Transport", "AWSSigning", "Cloud", "KubeCore", "KubeClient", "APIServer", "PolicyEngine", "Autoscaler",
                "Simulation", "Lab", "Forecasting", "FaultProxy", "TestSupport", "Digest",
            ]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TestSupport", "KubeCore", "KubeClient", "Autoscaler", "Simulation", "Forecasting", "Transport",
                "APIServer", "FaultProxy", "Cloud", "AWSSigning",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
