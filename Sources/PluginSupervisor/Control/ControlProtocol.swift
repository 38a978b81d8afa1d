import Foundation
import PluginWire

/// One request on the control socket: `{"id": 1, "command": "spawn", "arguments": {...}}`,
/// framed like every other PluginWire message (4-byte big-endian length + JSON).
public struct ControlRequest: Codable, Sendable, Equatable {
    /// Correlates the replies.
    public var id: UInt64
    /// The verb: `spawn`, `ls`, `inspect`, `emit`, `request`, `settings`, `dispose`, `kill`, `logs`, `doctor`, `ping`.
    public var command: String
    /// The verb's arguments.
    public var arguments: JSONValue

    /// Creates a request.
    public init(id: UInt64, command: String, arguments: JSONValue = .object([:])) {
        self.id = id
        self.command = command
        self.arguments = arguments
    }
}

/// One reply on the control socket. A streaming command (`logs -f`) sends any number of
/// replies with `chunk` set and `done` false, then one with `done` true.
public struct ControlReply: Codable, Sendable, Equatable {
    /// The request this answers.
    public var id: UInt64
    /// The result, when the command succeeded.
    public var result: JSONValue?
    /// The failure, when it did not.
    public var error: ControlFailure?
    /// A piece of streamed output.
    public var chunk: String?
    /// Whether this is the last reply to the request.
    public var done: Bool

    /// A final successful reply.
    public static func success(_ id: UInt64, _ result: JSONValue) -> ControlReply {
        ControlReply(id: id, result: result, error: nil, chunk: nil, done: true)
    }

    /// A final failed reply.
    public static func failure(_ id: UInt64, _ error: ControlFailure) -> ControlReply {
        ControlReply(id: id, result: nil, error: error, chunk: nil, done: true)
    }

    /// A streamed piece.
    public static func chunk(_ id: UInt64, _ text: String) -> ControlReply {
        ControlReply(id: id, result: nil, error: nil, chunk: text, done: false)
    }
}

/// Why a control command failed: a code scripts can match and a sentence a person can act on.
public struct ControlFailure: Codable, Sendable, Equatable, Error, CustomStringConvertible {
    /// A stable code: `unknownSession`, `badArguments`, `badProfile`, `badSettings`, `spawnFailed`,
    /// `startLimited`, `sessionFailed`, `unknownCommand`, `permissionDenied`, `internal`.
    public var code: String
    /// What went wrong and what to do.
    public var message: String

    /// Creates a failure.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// No session has `id`.
    public static func unknownSession(_ id: String) -> ControlFailure {
        ControlFailure(code: "unknownSession", message: "no session with id '\(id)'; `sandboxctl ls` lists the live ones")
    }

    /// An argument is missing or malformed.
    public static func badArguments(_ message: String) -> ControlFailure {
        ControlFailure(code: "badArguments", message: message)
    }
}

/// Encoding and decoding of control frames.
public enum ControlCodec {
    /// Encodes `value` as one frame (header + JSON body).
    public static func encodeFrame(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return FrameEncoder.encode(body: try encoder.encode(value))
    }

    /// Decodes a frame body as `type`.
    public static func decode<Value: Decodable>(_ type: Value.Type, from body: some Collection<UInt8>) throws -> Value {
        try JSONDecoder().decode(type, from: Data(body))
    }
}
