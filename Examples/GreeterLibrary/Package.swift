// swift-tools-version: 6.1
import Foundation
import PackageDescription

// A plugin library for PluginSandbox: one session plugin, built as a shared object that a sandboxed
// session loads with `sandboxctl spawn --plugin-library` or `SandboxSessionOptions(pluginLibraries:)`.
// It depends on PluginSandbox by path; a path dependency's identity is its folder's name.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "GreeterLibrary",
    products: [
        .library(name: "Greeter", type: .dynamic, targets: ["Greeter"]),
    ],
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        .target(
            name: "Greeter",
            dependencies: [
                .product(name: "PluginKit", package: root),
                .product(name: "PluginLibrary", package: root),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
