/// A machine-readable reason carried by ``WireFailure``.
///
/// New codes may appear in later protocol versions: a code this build does not know
/// decodes to a value that keeps its raw string, so it can be logged and forwarded.
public struct FailureCode: Sendable, Hashable, CustomStringConvertible {
    private enum Known: String, CaseIterable {
        case protocolBreach, versionMismatch, notWired, allConceded, handlerFailed, decodingFailed,
             timeout, cancelled, sessionDead, tooManyInFlight, settingsRejected, startFailed, notPermitted, `internal`
    }

    private enum Storage: Hashable {
        case known(Known)
        case unknown(String)
    }

    private let storage: Storage

    private init(_ known: Known) { storage = .known(known) }

    /// Wraps a raw code string; known strings become the matching constant.
    public init(rawValue: String) {
        storage = Known(rawValue: rawValue).map(Storage.known) ?? .unknown(rawValue)
    }

    /// The code as it appears on the wire.
    public var rawValue: String {
        switch storage {
        case .known(let known): return known.rawValue
        case .unknown(let raw): return raw
        }
    }

    /// Whether this build knows the code (false for codes from a newer peer).
    public var isKnown: Bool {
        if case .known = storage { return true }
        return false
    }

    /// The peer broke the protocol (bad frame, bad JSON, unknown kind, flood).
    public static let protocolBreach = FailureCode(.protocolBreach)
    /// The peers speak different protocol versions.
    public static let versionMismatch = FailureCode(.versionMismatch)
    /// No handler is wired for the event or request (`RequestNotWired`).
    public static let notWired = FailureCode(.notWired)
    /// Every request handler returned no answer (`AllConceded`).
    public static let allConceded = FailureCode(.allConceded)
    /// A handler threw.
    public static let handlerFailed = FailureCode(.handlerFailed)
    /// A payload could not be decoded into the handler's type.
    public static let decodingFailed = FailureCode(.decodingFailed)
    /// The operation ran past its deadline.
    public static let timeout = FailureCode(.timeout)
    /// The operation was cancelled by a ``Cancel`` message or by its caller.
    public static let cancelled = FailureCode(.cancelled)
    /// The session's worker is gone.
    public static let sessionDead = FailureCode(.sessionDead)
    /// The peer has too many operations in flight.
    public static let tooManyInFlight = FailureCode(.tooManyInFlight)
    /// The settings were refused during reconciliation.
    public static let settingsRejected = FailureCode(.settingsRejected)
    /// The session could not start in the worker (a plugin failed to register or attach, or its
    /// settings were refused); the message is the runtime's report.
    public static let startFailed = FailureCode(.startFailed)
    /// The host does not let sessions send this event or request to the global bus.
    public static let notPermitted = FailureCode(.notPermitted)
    /// An unexpected failure inside the runtime.
    public static let `internal` = FailureCode(.internal)

    /// Every code this build knows.
    public static var allKnown: [FailureCode] { Known.allCases.map(FailureCode.init) }

    /// The raw code string.
    public var description: String { rawValue }
}
