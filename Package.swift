// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way:
// CMosquitto, CSystem, CCrypto -> HatchlingSystem -> MosquittoClient, FleetSigning -> FleetProtocol,
// HatchlingMetrics -> HatchlingAgent -> executables.
// The hub's tool is a second branch of the same tree: MosquittoClient, FleetProtocol, FleetSigning
// -> FleetControl -> fleetctl; it never links HatchlingAgent (the agent's internals).
// swift-service-lifecycle is deliberately not used: it adds about 2.3 MiB to a binary whose size
// budget is 15 MiB (measured; docs/benchmarks.md); the agent's supervisor is small enough to own.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// Each target declares every module it imports, even one it would reach through another target:
// scripts/check-imports.sh (run by scripts/lint.sh) checks it.
let package = Package(
    name: "hatchling-agent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hatchling-agent", targets: ["hatchling-agent"]),
        .executable(name: "fleetctl", targets: ["fleetctl"]),
        .library(name: "MosquittoClient", targets: ["MosquittoClient"]),
        .library(name: "FleetProtocol", targets: ["FleetProtocol"]),
        .library(name: "FleetSigning", targets: ["FleetSigning"]),
        .library(name: "HatchlingMetrics", targets: ["HatchlingMetrics"]),
    ],
    dependencies: [
        // Exact versions: Package.resolved is not committed (each machine's package copies carry
        // commit ids of their own), so these lines are what makes a build repeatable.
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // The system layer: the only Swift module that names the C library (Glibc, re-exported),
        // with the calls every module needs made one way (EINTR, errno, threads, the clock,
        // files, hex, signals, wake-ups).
        .target(
            name: "HatchlingSystem",
            dependencies: ["CSystem"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MosquittoClient",
            dependencies: ["CMosquitto", "HatchlingSystem"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FleetProtocol",
            dependencies: ["HatchlingSystem"],
            swiftSettings: swiftSettings
        ),
        // prctl(PR_SET_PDEATHSIG): Linux calls Swift cannot import (variadic); header only.
        .systemLibrary(name: "CSystem"),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "FleetSigning",
            dependencies: ["CCrypto", "FleetProtocol", "HatchlingSystem"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HatchlingMetrics",
            dependencies: ["HatchlingSystem"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HatchlingAgent",
            dependencies: [
                "CSystem",
                "HatchlingSystem",
                "MosquittoClient",
                "FleetProtocol",
                "FleetSigning",
                "HatchlingMetrics",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hatchling-agent",
            dependencies: [
                "HatchlingAgent",
                "HatchlingSystem",
                "FleetProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FleetControl",
            dependencies: [
                "HatchlingSystem",
                "MosquittoClient",
                "FleetProtocol",
                "FleetSigning",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fleetctl",
            dependencies: [
                "FleetControl",
                "FleetProtocol",
                "HatchlingSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "command-fuzz",
            dependencies: [
                "HatchlingAgent", "HatchlingSystem", "FleetProtocol", "FleetSigning", "MosquittoClient",
            ],
            path: "Fuzz/CommandFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "json-bench",
            dependencies: ["FleetProtocol", "HatchlingAgent", "HatchlingSystem", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/json",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "collector-bench",
            dependencies: ["HatchlingMetrics", "HatchlingSystem"],
            path: "Benchmarks/collector",
            swiftSettings: swiftSettings
        ),
        // The broker settings' one parser, and its table held against both of its callers: the
        // agent's loader and fleetctl's resolve (only this test target links both).
        .testTarget(
            name: "MosquittoClientTests",
            dependencies: ["CMosquitto", "MosquittoClient", "HatchlingAgent", "FleetControl"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FleetProtocolTests",
            dependencies: ["FleetProtocol"],
            resources: [.copy("Golden")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FleetSigningTests",
            dependencies: ["FleetSigning", "FleetProtocol", "HatchlingSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HatchlingMetricsTests",
            dependencies: ["HatchlingMetrics", "HatchlingSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HatchlingAgentTests",
            dependencies: [
                "HatchlingAgent", "HatchlingSystem", "FleetProtocol", "FleetSigning", "HatchlingMetrics", "MosquittoClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FleetControlTests",
            dependencies: ["FleetControl", "FleetProtocol", "FleetSigning", "MosquittoClient"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["MosquittoClient", "FleetProtocol", "FleetSigning", "HatchlingSystem"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
