/// Every message of the protocol, one case per ``Kind``.
///
/// On the wire a message is one flat JSON object: the `kind` string plus the fields of the
/// payload struct, for example `{"kind":"ping","id":7}`. ``MessageCodec`` reads and writes it.
public enum WireMessage: Sendable, Equatable {
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

    /// The kinds of message, each with its `kind` string (its raw value), so a reader can
    /// count, limit or refuse messages per kind.
    ///
    /// A kind is added only with a new ``ProtocolVersion``, so a `switch` over it is exhaustive
    /// by design: a new kind forces every reader to decide what it does with it.
    public enum Kind: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
        /// ``WireMessage/hello(_:)``.
        case hello
        /// ``WireMessage/welcome(_:)``.
        case welcome
        /// ``WireMessage/ready(_:)``.
        case ready
        /// ``WireMessage/emit(_:)``.
        case emit
        /// ``WireMessage/emitResult(_:)``.
        case emitResult
        /// ``WireMessage/request(_:)``.
        case request
        /// ``WireMessage/response(_:)``.
        case response
        /// ``WireMessage/cancel(_:)``.
        case cancel
        /// ``WireMessage/settings(_:)``.
        case settings
        /// ``WireMessage/settingsResult(_:)``.
        case settingsResult
        /// ``WireMessage/ping(_:)``.
        case ping
        /// ``WireMessage/pong(_:)``.
        case pong
        /// ``WireMessage/log(_:)``.
        case log
        /// ``WireMessage/dispose(_:)``.
        case dispose
        /// ``WireMessage/bye(_:)``.
        case bye
        /// ``WireMessage/error(_:)``.
        case error

        /// The `kind` string.
        public var description: String { rawValue }
    }

    /// The kind of this message.
    public var kind: Kind {
        switch self {
        case .hello: return .hello
        case .welcome: return .welcome
        case .ready: return .ready
        case .emit: return .emit
        case .emitResult: return .emitResult
        case .request: return .request
        case .response: return .response
        case .cancel: return .cancel
        case .settings: return .settings
        case .settingsResult: return .settingsResult
        case .ping: return .ping
        case .pong: return .pong
        case .log: return .log
        case .dispose: return .dispose
        case .bye: return .bye
        case .error: return .error
        }
    }
}
