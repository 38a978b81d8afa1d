/// Every message of the protocol, one case per `kind`.
///
/// On the wire a message is one flat JSON object: the `kind` string plus the fields of
/// the payload struct, for example `{"kind":"ping","id":7}`.
public enum WireMessage: Codable, Sendable, Equatable {
    /// Worker → supervisor, first frame.
    case hello(Hello)
    /// Supervisor → worker, answer to hello.
    case welcome(Welcome)
    /// Worker → supervisor, session scope built.
    case ready(Ready)
    /// Either way: an event for a bus on the other side.
    case emit(Emit)
    /// Either way: the outcome of an emit.
    case emitResult(EmitResult)
    /// Either way: a request for a bus on the other side.
    case request(Request)
    /// Either way: the answer to a request.
    case response(Response)
    /// Either way: abandon an in-flight request or emit.
    case cancel(Cancel)
    /// Supervisor → worker: reconcile against new settings.
    case settings(SettingsUpdate)
    /// Worker → supervisor: the outcome of a settings update.
    case settingsResult(SettingsResult)
    /// Supervisor → worker: heartbeat probe.
    case ping(Ping)
    /// Worker → supervisor: heartbeat answer.
    case pong(Pong)
    /// Worker → supervisor: a log record.
    case log(LogRecord)
    /// Supervisor → worker: end the session.
    case dispose(Dispose)
    /// Either way: last frame before closing.
    case bye(Bye)
    /// Either way: a failure not tied to a correlation id (for example the breach that ends a session).
    case error(WireFailure)

    /// The value of the `kind` field for this message.
    public var kind: String {
        switch self {
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .ready: return "ready"
        case .emit: return "emit"
        case .emitResult: return "emitResult"
        case .request: return "request"
        case .response: return "response"
        case .cancel: return "cancel"
        case .settings: return "settings"
        case .settingsResult: return "settingsResult"
        case .ping: return "ping"
        case .pong: return "pong"
        case .log: return "log"
        case .dispose: return "dispose"
        case .bye: return "bye"
        case .error: return "error"
        }
    }

    /// Every `kind` string this protocol version defines.
    public static let kinds: [String] = [
        "hello", "welcome", "ready", "emit", "emitResult", "request", "response", "cancel",
        "settings", "settingsResult", "ping", "pong", "log", "dispose", "bye", "error",
    ]

    private enum KindKey: String, CodingKey { case kind }

    /// Decodes a message from a flat object with a `kind` discriminator.
    ///
    /// Throws ``WireError`` values naming the kind and field that were wrong.
    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<KindKey>
        do {
            container = try decoder.container(keyedBy: KindKey.self)
        } catch {
            throw WireError.notAnObject
        }
        let kind: String
        do {
            guard let value = try container.decodeIfPresent(String.self, forKey: .kind) else { throw WireError.missingKind }
            kind = value
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError.kindNotAString
        }
        do {
            self = try Self.decodePayload(kind: kind, from: decoder)
        } catch let error as DecodingError {
            throw WireError(error, kind: kind)
        }
    }

    private static func decodePayload(kind: String, from decoder: any Decoder) throws -> WireMessage {
        switch kind {
        case "hello": return .hello(try Hello(from: decoder))
        case "welcome": return .welcome(try Welcome(from: decoder))
        case "ready": return .ready(try Ready(from: decoder))
        case "emit": return .emit(try Emit(from: decoder))
        case "emitResult": return .emitResult(try EmitResult(from: decoder))
        case "request": return .request(try Request(from: decoder))
        case "response": return .response(try Response(from: decoder))
        case "cancel": return .cancel(try Cancel(from: decoder))
        case "settings": return .settings(try SettingsUpdate(from: decoder))
        case "settingsResult": return .settingsResult(try SettingsResult(from: decoder))
        case "ping": return .ping(try Ping(from: decoder))
        case "pong": return .pong(try Pong(from: decoder))
        case "log": return .log(try LogRecord(from: decoder))
        case "dispose": return .dispose(try Dispose(from: decoder))
        case "bye": return .bye(try Bye(from: decoder))
        case "error": return .error(try WireFailure(from: decoder))
        default: throw WireError.unknownKind(kind)
        }
    }

    /// Encodes the message as a flat object: `kind` plus the payload's fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: KindKey.self)
        try container.encode(kind, forKey: .kind)
        try payload.encode(to: encoder)
    }

    /// The payload struct of this case.
    private var payload: any Encodable & Sendable {
        switch self {
        case .hello(let message): return message
        case .welcome(let message): return message
        case .ready(let message): return message
        case .emit(let message): return message
        case .emitResult(let message): return message
        case .request(let message): return message
        case .response(let message): return message
        case .cancel(let message): return message
        case .settings(let message): return message
        case .settingsResult(let message): return message
        case .ping(let message): return message
        case .pong(let message): return message
        case .log(let message): return message
        case .dispose(let message): return message
        case .bye(let message): return message
        case .error(let message): return message
        }
    }
}
