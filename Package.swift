// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "PluginSandbox",
    products: [
        .library(name: "PluginKit", targets: ["PluginKit"]),
        .library(name: "PluginWire", targets: ["PluginWire"]),
        .library(name: "PluginSandbox", targets: ["PluginSandbox"]),
        .library(name: "PluginSupervisor", targets: ["PluginSupervisor"]),
        .library(name: "PluginWorker", targets: ["PluginWorker"]),
        .library(name: "PluginLibrary", targets: ["PluginLibrary"]),
        .library(name: "SandboxCLI", targets: ["SandboxCLI"]),
        // For hosts that demonstrate or benchmark containment (the benchmarks' attackers).
        .library(name: "FaultPlugins", targets: ["FaultPlugins"]),
        .executable(name: "sandboxctl", targets: ["sandboxctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // `swift package generate-documentation --target MODULE` builds the DocC catalogs.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // MARK: Runtime semantics (no OS calls)
        .target(
            name: "PluginKit",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Collections", package: "swift-collections"),
            ]
        ),
        .testTarget(name: "PluginKitTests", dependencies: ["PluginKit", .product(name: "Logging", package: "swift-log")]),

        // MARK: Wire protocol (pure)
        .target(name: "PluginWire"),
        .testTarget(name: "PluginWireTests", dependencies: ["PluginWire"]),

        // MARK: System calls (swift-system descriptors, one retrying wrapper, C shims named for what they do)
        .target(name: "CDescriptorCalls"),
        .target(
            name: "PluginSystem",
            dependencies: ["CDescriptorCalls", .product(name: "SystemPackage", package: "swift-system")]
        ),

        // MARK: Confinement
        .systemLibrary(
            name: "CSeccomp",
            pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]
        ),
        .target(name: "CProcessCalls"),
        .target(name: "CStartupGuard"),
        .target(name: "CConfinementCalls", dependencies: ["CDescriptorCalls", "CProcessCalls", "CStartupGuard"]),
        .target(name: "CPluginLibrary"),
        .target(name: "CPluginLibraryCalls"),
        .target(
            name: "PluginSandbox",
            dependencies: [
                "CSeccomp", "CProcessCalls", "CConfinementCalls", "CStartupGuard", "CDescriptorCalls", "PluginSystem", "PluginWire",
                "CPluginLibrary", "CPluginLibraryCalls",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .testTarget(name: "PluginSandboxTests", dependencies: ["PluginSandbox", "cgroup-probe"], exclude: ["Golden"]),

        // MARK: Test fixtures (executables the tests drive; not product)
        .executableTarget(name: "cgroup-probe", path: "Tests/Fixtures/CgroupProbe"),
        .target(name: "CProbeCalls", path: "Tests/Fixtures/CProbeCalls"),
        .executableTarget(name: "spawn-probe", dependencies: ["PluginSandbox", "CProbeCalls"], path: "Tests/Fixtures/SpawnProbe"),
        .executableTarget(name: "bootstrap-missing", dependencies: ["PluginSandbox"], path: "Tests/Fixtures/BootstrapMissing"),
        .executableTarget(
            name: "readme-example",
            dependencies: ["PluginKit", "PluginSupervisor", .product(name: "Logging", package: "swift-log")],
            path: "Tests/Fixtures/ReadmeExample"
        ),
        .target(name: "PluginLibraryFixtures", path: "Tests/Fixtures/PluginLibrarySupport"),

        // MARK: Supervisor and worker
        .target(name: "PluginBridge", dependencies: ["PluginKit", "PluginWire", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "PluginBridgeTests", dependencies: ["PluginBridge", "PluginKit"]),
        .target(
            name: "PluginWorker",
            dependencies: [
                "PluginKit", "PluginWire", "PluginSandbox", "PluginBridge", "PluginSystem", "CDescriptorCalls",
                "CPluginLibrary", "CPluginLibraryCalls",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Plugin libraries (what a third-party plugin library links: its own runtime, a C entry point)
        .target(name: "CPluginLibraryNote", dependencies: ["CPluginLibrary"]),
        .target(
            name: "PluginLibrary",
            dependencies: [
                "PluginKit", "PluginWire", "PluginBridge", "CPluginLibrary", "CPluginLibraryNote",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PluginSupervisor",
            dependencies: [
                "PluginKit", "PluginWire", "PluginSandbox", "PluginBridge", "PluginSystem", "PluginWorker",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .testTarget(
            name: "PluginSupervisorTests",
            dependencies: ["PluginSupervisor", "PluginKit", "DemoPlugins", "FaultPlugins", "readme-example", "PluginLibraryFixtures"]
        ),
        .target(name: "DemoPlugins", dependencies: ["PluginKit"]),
        .target(name: "CFaultCalls"),
        .target(name: "FaultPlugins", dependencies: ["PluginKit", "CFaultCalls"]),
        .target(
            name: "SandboxCLI",
            dependencies: [
                "PluginKit", "PluginWire", "PluginSandbox", "PluginSupervisor", "PluginSystem", "DemoPlugins", "FaultPlugins",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .executableTarget(
            name: "sandboxctl",
            dependencies: [
                "SandboxCLI", "PluginSupervisor", "DemoPlugins", "FaultPlugins", "PluginKit",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SandboxCLITests", dependencies: ["sandboxctl", "SandboxCLI", "PluginLibraryFixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
