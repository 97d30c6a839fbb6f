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

        // Command implementations behind the thin executables.
        .target(
            name: "Commands",
            dependencies: [
                "Transport", "Forecasting", "FileIO", "APIServer", "KubeCore", "KubeClient", "PolicyEngine",
                "Autoscaler", "ChildProcess", "FaultProxy", "Cloud", "AWSSigning",
            ]),
        .executableTarget(name: "forescale", dependencies: ["Commands"]),
        .executableTarget(name: "forescale-controller", dependencies: ["Commands"]),
        .executableTarget(name: "forescale-trainer", dependencies: ["Commands"]),

        // Tests, one folder per tier (see Tests/README.md).
        .target(
            name: "TestSupport",
            dependencies: [
                "Transport", "AWSSigning", "Cloud", "ChildProcess", "APIServer", "KubeCore", "KubeClient", "FaultProxy",
            ], path: "Tests/TestSupport"),
        .testTarget(
            name: "UnitTests",
            dependencies: [
                "Transport", "Forecasting", "Digest", "AWSSigning", "KubeCore", "KubeClient", "APIServer",
                "PolicyEngine", "Autoscaler", "Commands", "TestSupport", "Cloud", "CPUFeatures",
            ]),
        .testTarget(
            name: "ScenarioTests",
            dependencies: ["KubeCore", "KubeClient", "PolicyEngine", "Autoscaler", "Forecasting", "TestSupport"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Transport", "AWSSigning", "Cloud", "KubeCore", "KubeClient", "APIServer", "PolicyEngine", "Autoscaler",
                "Forecasting", "FaultProxy", "TestSupport",
            ]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TestSupport", "KubeCore", "KubeClient", "PolicyEngine", "Autoscaler", "Forecasting", "Transport",
                "APIServer", "FaultProxy", "Cloud",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
