// swift-tools-version:6.0
import PackageDescription

// Release builds of the numeric kernels target Haswell (AVX2 + FMA, x86-64-v3 class; see
// README "CPU floor"). Debug builds keep the default target so they compile fast.
let releaseCPU: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"], .when(platforms: [.linux], configuration: .release)),
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
        .target(name: "Forecasting", dependencies: ["Digest", "FileIO"], swiftSettings: releaseCPU),

        // I/O.
        .target(name: "CTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "Transport", dependencies: ["CCurl", "CTLS"]),
        .target(name: "Cloud", dependencies: ["Transport", "AWSSigning", "Digest"]),
        .target(name: "ChildProcess"),
        .target(name: "KubeClient", dependencies: ["KubeCore", "Transport", "ChildProcess"]),
        .target(name: "APIServer", dependencies: ["KubeCore", "Transport", "Digest", "FileIO"]),
        .target(name: "Autoscaler", dependencies: ["KubeCore", "KubeClient", "Forecasting", "Cloud", "Transport", "FileIO"]),

        // Command implementations behind the thin executables.
        .target(name: "Commands", dependencies: ["Transport", "Forecasting", "FileIO", "APIServer", "KubeCore", "KubeClient", "Autoscaler", "ChildProcess"]),
        .executableTarget(name: "forescale", dependencies: ["Commands"]),
        .executableTarget(name: "forescale-controller", dependencies: ["Commands"]),
        .executableTarget(name: "forescale-trainer", dependencies: ["Commands"]),

        // Tests, one folder per tier (see Tests/README.md).
        .target(name: "TestSupport", dependencies: ["Transport", "AWSSigning", "Cloud", "ChildProcess", "APIServer", "KubeCore", "KubeClient"], path: "Tests/TestSupport"),
        .testTarget(name: "UnitTests", dependencies: ["Transport", "Forecasting", "Digest", "AWSSigning", "KubeCore", "KubeClient", "APIServer", "Autoscaler", "Commands", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["Transport", "AWSSigning", "Cloud", "KubeCore", "KubeClient", "APIServer", "Autoscaler", "Forecasting", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "KubeCore", "KubeClient", "Autoscaler", "Forecasting", "Transport", "APIServer"]),
    ],
    swiftLanguageModes: [.v6]
)
