// swift-tools-version: 6.1
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which depends on where the repository was cloned.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "PluginSandboxBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        .target(name: "CBaselines"),
        .executableTarget(
            name: "pluginsandbox-bench",
            dependencies: [
                "CBaselines",
                .product(name: "PluginKit", package: root),
                .product(name: "PluginWire", package: root),
                .product(name: "PluginSandbox", package: root),
                .product(name: "PluginSupervisor", package: root),
                .product(name: "PluginWorker", package: root),
                .product(name: "FaultPlugins", package: root),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
