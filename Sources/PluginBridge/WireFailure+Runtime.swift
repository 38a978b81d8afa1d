import PluginKit
import PluginWire

extension WireFailure {
    /// The failure that reports `error` across the process boundary, with the code the other
    /// side needs to rebuild the same error (`notWired`, `allConceded`, ...).
    public init(describing error: any Error) {
        switch error {
        case let failure as WireFailure:
            self = failure
        case let notWired as RequestNotWired:
            self.init(code: .notWired, message: "\(notWired)")
        case let conceded as AllConceded:
            self.init(code: .allConceded, message: "\(conceded)")
        case is CancellationError:
            self.init(code: .cancelled, message: "cancelled")
        case let wire as WireError:
            self.init(code: .decodingFailed, message: "\(wire)")
        case let payload as WirePayloadError:
            self.init(code: .decodingFailed, message: "\(payload)")
        case let disposed as BusDisposed:
            self.init(code: .sessionDead, message: "\(disposed)")
        case is DecodingError:
            self.init(code: .decodingFailed, message: "\(error)")
        default:
            self.init(code: .handlerFailed, message: String(describing: error))
        }
    }

    /// Whether this failure means "nobody answered" (no handler, or every handler conceded).
    public var isNoAnswer: Bool {
        code == .notWired || code == .allConceded
    }

    /// The runtime error this failure stands for on this side of the boundary.
    public func runtimeError(name: String, identifier: String?) -> any Error {
        switch code {
        case .notWired: return RequestNotWired(request: name, identifier: identifier)
        case .allConceded: return AllConceded(request: name, identifier: identifier)
        case .cancelled: return CancellationError()
        default: return self
        }
    }
}
