import Foundation
import PluginKit
import PluginSandbox
import PluginSupervisor

/// Spawn → ready of a session whose one plugin comes from a plugin library (the example in
/// `Examples/GreeterLibrary`, built here in release), beside a session whose one plugin is built
/// into the host, in the same run, alternating one of each: with warm spares (the default: a
/// library spare has loaded its library before the session asks) and cold (every session forks a
/// worker, which loads the library after its confinement).
struct LibraryBench {
    let options: BenchOptions

    func figures() async throws -> [Figure] {
        let library = PluginLibraryReference(path: try Self.buildExample())
        var figures: [Figure] = []
        for (spares, label) in [(1, "warm spare"), (0, "cold")] {
            var configuration = SandboxConfiguration()
            configuration.sparesPerProfile = spares
            let sandbox = Sandbox(sessionPlugins: BenchPlugins.catalog, configuration: configuration)
            let (builtIn, fromLibrary) = try await sandbox.withRuntime { runtime in
                try await measure(runtime, library: library, iterations: options.count(spares == 0 ? 100 : 200))
            }
            figures.append(Figure(
                name: "spawn → ready, one plugin from a plugin library (\(label))", value: percentiles(fromLibrary, milliseconds),
                baseline: "one built-in plugin " + percentiles(builtIn, milliseconds), ratio: ratio(fromLibrary.p50, builtIn.p50),
                target: "p50 ≤ 2× built-in", met: fromLibrary.p50 <= 2 * builtIn.p50 ? "met" : "missed",
                numbers: ["p50": fromLibrary.p50, "p99": fromLibrary.p99, "baselineP50": builtIn.p50, "baselineP99": builtIn.p99]))
        }
        return figures
    }

    /// Alternates a built-in session and a library session, `iterations` of each, after one of each
    /// to warm up (the first seals the library and starts the profile's zygote).
    private func measure(_ runtime: PluginRuntime, library: PluginLibraryReference, iterations: Int) async throws -> (Samples, Samples) {
        let builtInOptions = SandboxSessionOptions()
        let libraryOptions = SandboxSessionOptions(pluginLibraries: [library], includesHostPlugins: false)
        var builtIn: [UInt64] = []
        var fromLibrary: [UInt64] = []
        for index in -1..<iterations {
            for (options, name) in [(builtInOptions, "built-in"), (libraryOptions, "library")] {
                let start = now()
                let session = try await runtime.createSession(id: SessionID("\(name)-\(index + 1)"), options: options)
                let elapsed = now() - start
                try await session.dispose()
                guard index >= 0 else { continue }
                if name == "library" { fromLibrary.append(elapsed) } else { builtIn.append(elapsed) }
            }
        }
        return (Samples(builtIn), Samples(fromLibrary))
    }

    /// Builds the example library in release (as the benchmark itself is) and returns its path.
    static func buildExample() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let scratch = root.appendingPathComponent(".build/examples/GreeterLibrary").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "-c", "release", "--package-path", root.appendingPathComponent("Examples/GreeterLibrary").path,
                             "--scratch-path", scratch, "--product", "Greeter"]
        process.standardOutput = FileHandle.standardError
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "swift build of Examples/GreeterLibrary failed"])
        }
        return scratch + "/release/libGreeter.so"
    }
}
