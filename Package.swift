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
    ],
    targets: [
        // Leaves: pure or system-library targets.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "Digest"),
        .target(name: "AWSSigning", dependencies: ["Digest"]),
        .target(name: "KubeCore"),
        .target(name: "Forecasting", dependencies: ["Digest"], swiftSettings: releaseCPU),

        // I/O.
        .target(name: "Transport", dependencies: ["CCurl"]),
        .target(name: "Cloud", dependencies: ["Transport", "AWSSigning", "Digest"]),
        .target(name: "ChildProcess"),
        .target(name: "KubeClient", dependencies: ["KubeCore", "Transport", "ChildProcess"]),

        // Command implementations behind the thin executables.
        .target(name: "Commands", dependencies: ["Transport", "Forecasting"]),
        .executableTarget(name: "forescale", dependencies: ["Commands"]),

        // Tests, one folder per tier (see Tests/README.md).
        .target(name: "TestSupport", dependencies: ["Transport", "AWSSigning", "Cloud", "ChildProcess"], path: "Tests/TestSupport"),
        .testTarget(name: "UnitTests", dependencies: ["Transport", "Forecasting", "Digest", "AWSSigning", "KubeCore", "Commands", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["Transport", "AWSSigning", "Cloud", "KubeCore", "KubeClient", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
