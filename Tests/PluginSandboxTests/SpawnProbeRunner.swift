import Foundation
import XCTest

/// Runs the `spawn-probe` executable built next to the test bundle and decodes its JSON line.
struct SpawnProbeRunner {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The probe binary.
    static var executable: String {
        get throws { try builtProduct("spawn-probe") }
    }

    /// An executable SwiftPM built into the same directory as the test bundle (on Linux the test
    /// runner executable itself lives there).
    static func builtProduct(_ name: String) throws -> String {
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let bundle = Bundle(for: SpawnProbeBundleMarker.self).bundleURL
        let candidates = [runner.deletingLastPathComponent(), bundle, bundle.deletingLastPathComponent()]
            .map { $0.appendingPathComponent(name).path }
        guard let path = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw Failure(description: "\(name) not built in \(candidates); run swift build --build-tests")
        }
        return path
    }

    /// Runs `spawn-probe arguments...` to completion (at most `timeout` seconds) and returns its JSON object.
    static func run(_ arguments: String..., timeout: TimeInterval = 60) throws -> [String: Any] {
        try run(arguments, timeout: timeout)
    }

    /// Runs `spawn-probe arguments...` to completion (at most `timeout` seconds) and returns its JSON object.
    static func run(_ arguments: [String], timeout: TimeInterval = 60) throws -> [String: Any] {
        let (process, output) = try launch(arguments, environment: nil)
        let deadline = Date().addingTimeInterval(timeout)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            throw Failure(description: "spawn-probe \(arguments) did not finish in \(timeout) s")
        }
        return try decode(data, arguments: arguments)
    }

    /// Starts `spawn-probe arguments...` (with `environment`, when given, as its whole environment)
    /// and returns it with its first JSON line; the caller ends it.
    static func start(_ arguments: String..., environment: [String: String]? = nil) throws -> (Process, [String: Any]) {
        let (process, output) = try launch(arguments, environment: environment)
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte.first == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        return (process, try decode(line, arguments: arguments))
    }

    private static func launch(_ arguments: [String], environment: [String: String]?) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        return (process, output)
    }

    private static func decode(_ data: Data, arguments: [String]) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "spawn-probe \(arguments) printed no JSON object")
        }
        if let error = object["error"] { throw Failure(description: "spawn-probe \(arguments) failed: \(error)") }
        return object
    }
}

private final class SpawnProbeBundleMarker {}
