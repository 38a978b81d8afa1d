import Foundation
import Synchronization

/// The plugin libraries the tests load: the example package in `Examples/GreeterLibrary`, built
/// with `swift build` as its author would, and the C fixtures of `Tests/Fixtures/PluginLibraries`,
/// compiled with the toolchain's own `clang` (or `gcc`, for a library from another toolchain).
public enum PluginLibraryFixtures {
    /// The repository's root.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private static let example = Mutex<Result<String, BuildFailure>?>(nil)

    /// The example library, built once per test process (debug, like the tests' workers).
    public static func exampleLibrary() throws -> String {
        let result = example.withLock { built -> Result<String, BuildFailure> in
            if let built { return built }
            let scratch = root.appendingPathComponent(".build/examples/GreeterLibrary").path
            let outcome = run(toolchainTool("swift"), ["build", "--package-path", root.appendingPathComponent("Examples/GreeterLibrary").path,
                                                             "--scratch-path", scratch, "--product", "Greeter"])
                .map { _ in scratch + "/debug/libGreeter.so" }
            built = outcome
            return outcome
        }
        return try result.get()
    }

    /// The compiler of a fixture.
    public enum Compiler: Sendable {
        /// The Swift toolchain's clang: the fingerprint matches the host's.
        case toolchain
        /// The system's gcc: another toolchain.
        case gcc
    }

    /// The fixture `name` (`Tests/Fixtures/PluginLibraries/NAME.c`) compiled into a fresh shared object.
    public static func compile(_ name: String, with compiler: Compiler = .toolchain) throws -> String {
        let source = root.appendingPathComponent("Tests/Fixtures/PluginLibraries/\(name).c").path
        let include = root.appendingPathComponent("Sources/CPluginLibrary/include").path
        let output = NSTemporaryDirectory() + "plugin-library-\(name)-\(UUID().uuidString.prefix(8)).so"
        let tool: String?
        switch compiler {
        case .toolchain: tool = toolchainTool("clang")
        case .gcc: tool = ["/usr/bin/gcc", "/usr/bin/cc"].first(where: FileManager.default.isExecutableFile(atPath:))
        }
        _ = try run(tool, ["-shared", "-fPIC", "-O0", "-I", include, source, "-o", output]).get()
        return output
    }

    /// A copy of `path` in a fresh temporary file (for tampering with it).
    public static func copy(_ path: String) throws -> String {
        let copy = NSTemporaryDirectory() + "plugin-library-copy-\(UUID().uuidString.prefix(8)).so"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        return copy
    }

    /// The SHA-256 of a file, as `sha256sum` prints it.
    public static func sha256(of path: String) throws -> String {
        let output = try run("/usr/bin/sha256sum", [path]).get()
        return String(output.prefix(64))
    }

    /// A build or compile that failed, with its output.
    public struct BuildFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A tool of the Swift toolchain that runs the tests (next to `swift` on the PATH).
    private static func toolchainTool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for directory in path.split(separator: ":") {
            let swift = URL(fileURLWithPath: String(directory)).appendingPathComponent("swift").resolvingSymlinksInPath()
            guard FileManager.default.isExecutableFile(atPath: swift.path) else { continue }
            let tool = swift.deletingLastPathComponent().appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: tool) { return tool }
        }
        return nil
    }

    private static func run(_ tool: String?, _ arguments: [String]) -> Result<String, BuildFailure> {
        guard let tool else { return .failure(BuildFailure(description: "no tool to run \(arguments.joined(separator: " "))")) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            return .failure(BuildFailure(description: "\(tool) did not start: \(error)"))
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(BuildFailure(description: "\(tool) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)):\n\(text.suffix(4000))"))
        }
        return .success(text)
    }
}
