import ArgumentParser
import Foundation
import PluginSupervisor
import PluginWire

/// Where the supervisor's control socket is: `--socket`, else `$SANDBOXCTL_SOCKET`, else
/// `$XDG_RUNTIME_DIR/sandboxctl.sock` and then `/run/sandboxctl.sock`.
struct ClientOptions: ParsableArguments {
    /// The environment variable naming the socket.
    static let environmentVariable = "SANDBOXCTL_SOCKET"
    /// The system-wide socket (the systemd unit's).
    static let systemPath = "/run/sandboxctl.sock"

    @Option(name: .long, help: ArgumentHelp(
        "The supervisor's control socket (default: $SANDBOXCTL_SOCKET, else $XDG_RUNTIME_DIR/sandboxctl.sock, then /run/sandboxctl.sock).",
        valueName: "path"), completion: .file())
    var socket: String?

    /// The paths a client tries, in order.
    var candidates: [String] {
        if let socket { return [socket] }
        let environment = ProcessInfo.processInfo.environment
        if let named = environment[Self.environmentVariable], !named.isEmpty { return [named] }
        var paths: [String] = []
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { paths.append(runtime + "/sandboxctl.sock") }
        if !paths.contains(Self.systemPath) { paths.append(Self.systemPath) }
        return paths
    }

    /// The path `serve` listens on: the first candidate.
    var servePath: String { candidates[0] }

    /// Connects to the first candidate where a supervisor answers.
    func connect() throws(CallFailure) -> ControlClient {
        var last: ControlClientError?
        for path in candidates {
            do {
                return try ControlClient(path: path)
            } catch where error.reason == .notRunning {
                last = error
            } catch {
                throw CallFailure(error)
            }
        }
        if candidates.count > 1 {
            throw CallFailure(message: """
                no supervisor is running at \(candidates.joined(separator: " or ")); start one with `sandboxctl serve` \
                (or pass --socket, or set \(Self.environmentVariable), to name another)
                """, code: "notRunning", exitCode: ExitStatus.unavailable)
        }
        throw last.map(CallFailure.init) ?? CallFailure(message: "no supervisor is running", code: "notRunning", exitCode: ExitStatus.unavailable)
    }
}

/// How results are printed: `-o table|json` (`--json` for short) and `-q`.
struct OutputOptions: ParsableArguments {
    /// An output format.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output format: table or json.")
    var format: Format = .table

    @Flag(name: .customLong("json"), help: "Same as -o json.")
    var jsonFlag = false

    @Flag(name: [.short, .long], help: "Print only ids (lists) or nothing (actions); the exit code tells.")
    var quiet = false

    var json: Bool { jsonFlag || format == .json }

    func validate() throws {
        if quiet && json { throw ValidationError("-q and -o json exclude each other: choose one") }
    }
}

/// The exit codes, as `sandboxctl --help` documents them.
enum ExitStatus {
    static let failed = ExitCode(1)
    static let usage = ExitCode(64)
    static let unavailable = ExitCode(69)
    static let permission = ExitCode(77)
}

/// Sends one command to the supervisor, turning every failure into a message and an exit code.
func call(_ client: ClientOptions, _ command: String, _ arguments: [String: JSONValue] = [:],
          onChunk: (String) -> Void = { _ in }) throws -> JSONValue {
    switch send(client, command, arguments, onChunk: onChunk) {
    case .success(let value): return value
    case .failure(let failure):
        printError(failure.message)
        throw failure.exitCode
    }
}

/// Why a command sent to the supervisor failed, with the exit code it means.
struct CallFailure: Error {
    var message: String
    var code: String
    var exitCode: ExitCode

    init(message: String, code: String, exitCode: ExitCode) {
        self.message = message
        self.code = code
        self.exitCode = exitCode
    }

    /// The failure to reach the supervisor: 69 when none runs, 77 when its socket is not ours.
    init(_ error: ControlClientError) {
        switch error.reason {
        case .notRunning: self.init(message: error.message, code: "notRunning", exitCode: ExitStatus.unavailable)
        case .permissionDenied: self.init(message: error.message, code: "permissionDenied", exitCode: ExitStatus.permission)
        default: self.init(message: error.message, code: "connection", exitCode: ExitStatus.failed)
        }
    }
}

/// Sends one command; a failure comes back as a value, for commands that go on with other ids.
func send(_ client: ClientOptions, _ command: String, _ arguments: [String: JSONValue] = [:],
          onChunk: (String) -> Void = { _ in }) -> Result<JSONValue, CallFailure> {
    let reply: ControlReply
    do {
        reply = try client.connect().send(command, arguments: .object(arguments), onChunk: onChunk)
    } catch let failure as CallFailure {
        return .failure(failure)
    } catch let error as ControlClientError {
        return .failure(CallFailure(error))
    } catch {
        return .failure(CallFailure(message: "\(error)", code: "connection", exitCode: ExitStatus.failed))
    }
    if let failure = reply.error {
        return .failure(CallFailure(message: failure.message, code: failure.code,
                                    exitCode: failure.code == "permissionDenied" ? ExitStatus.permission : ExitStatus.failed))
    }
    return .success(reply.result ?? .null)
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("sandboxctl: \(message)\n".utf8))
}

/// Prints `value` as pretty JSON with sorted keys and ISO 8601 dates.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = millisecondDates
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints `value` as one line of JSON (for streams: `logs`, `events`, `top`).
func printJSONLine(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = millisecondDates
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
    fflush(nil)
}

/// Dates as ISO 8601 with milliseconds, in UTC (`2025-01-31T12:00:00.123Z`).
private let millisecondDates = JSONEncoder.DateEncodingStrategy.custom { date, encoder in
    var container = encoder.singleValueContainer()
    try container.encode(timestamp(date))
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
