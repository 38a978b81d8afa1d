import PluginWire

extension WireFailure {
    /// The failure that reports `error` across the wire, keeping its code where it has one.
    init(describing error: any Error) {
        switch error {
        case let failure as WireFailure:
            self = failure
        case let session as SessionError:
            let code: FailureCode
            switch session.code {
            case .sessionDead: code = .sessionDead
            case .timeout: code = .timeout
            case .cancelled: code = .cancelled
            case .busy: code = .tooManyInFlight
            case .remote: code = session.failure?.code ?? .handlerFailed
            default: code = .internal
            }
            self.init(code: code, message: session.message)
        case is CancellationError:
            self.init(code: .cancelled, message: "cancelled")
        default:
            self.init(code: .handlerFailed, message: String(describing: error))
        }
    }
}
