import ArgumentParser
import Foundation
import PluginSupervisor
import PluginWire

/// Where the supervisor's control socket is.
struct SocketOptions: ParsableArguments {
    @Option(name: .long, help: "The supervisor's control socket (default: $XDG_RUNTIME_DIR/sandboxctl.sock, else /run/sandboxctl.sock).")
    var socket: String?

    var path: String { socket ?? Self.defaultPath }

    static var defaultPath: String {
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return runtime + "/sandboxctl.sock"
        }
        return "/run/sandboxctl.sock"
    }
}

/// Output format.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of a table.")
    var json = false
}

/// Exit codes, as documented in `sandboxctl --help`.
enum ExitStatus {
    static let failed = ExitCode(1)
    static let unavailable = ExitCode(69)
    static let permission = ExitCode(77)
}

/// Sends one command to the supervisor, turning every failure into a message and an exit code.
func call(_ socket: SocketOptions, _ command: String, _ arguments: [String: JSONValue] = [:],
          onChunk: (String) -> Void = { _ in }) throws -> JSONValue {
    let reply: ControlReply
    do throws(ControlClientError) {
        let client = try ControlClient(path: socket.path)
        reply = try client.send(command, arguments: .object(arguments), onChunk: onChunk)
    } catch {
        printError(error.message)
        switch error.reason {
        case .notRunning: throw ExitStatus.unavailable
        case .permissionDenied: throw ExitStatus.permission
        default: throw ExitStatus.failed
        }
    }
    if let failure = reply.error {
        printError(failure.message)
        throw failure.code == "permissionDenied" ? ExitStatus.permission : ExitStatus.failed
    }
    return reply.result ?? .null
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("sandboxctl: \(message)\n".utf8))
}

/// Parses `--payload`: inline JSON, or `@file`; errors name the position.
func parsePayload(_ text: String?) throws -> JSONValue {
    guard let text else { return .object([:]) }
    let data: Data
    if text.hasPrefix("@") {
        let path = String(text.dropFirst())
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read payload file \(path)")
        }
        data = contents
    } else {
        data = Data(text.utf8)
    }
    do {
        return try JSONValue(jsonData: data)
    } catch {
        throw ValidationError("--payload is not valid JSON: \(error)")
    }
}

/// Prints `value` as pretty JSON.
func printJSON(_ value: JSONValue) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Renders rows as an aligned table.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}
