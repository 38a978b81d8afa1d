import PluginWire

/// Which events and requests sessions may send to the global bus.
///
/// The supervisor's own lifecycle events are reserved: a worker that sends one has lied about
/// being the supervisor and is in breach. Beyond that a host may name exactly what sessions may
/// send (per runtime, narrowed per profile); anything else is refused with an error the plugin
/// sees, and the session goes on.
public struct GlobalPermissions: Sendable, Equatable {
    /// Event wire names sessions may emit to the global bus; nil: any that is not reserved.
    public var events: Set<String>?
    /// Request wire names sessions may send to the global bus; nil: any that is not reserved.
    public var requests: Set<String>?
    /// Names only the supervisor publishes.
    public var reserved: Set<String>

    /// Everything that is not reserved.
    public static let any = GlobalPermissions(events: nil, requests: nil)

    /// Allows exactly `events` and `requests` (nil: any).
    public init(events: Set<String>? = nil, requests: Set<String>? = nil) {
        self.events = events
        self.requests = requests
        self.reserved = SessionLifecycleEvents.wireNames
    }

    enum Refusal: Equatable {
        /// A name only the supervisor publishes: a breach.
        case reserved
        /// Not allowed for sessions: refused, with this failure sent back.
        case notPermitted(WireFailure)
    }

    func refusal(name: String, isRequest: Bool) -> Refusal? {
        if reserved.contains(name) { return .reserved }
        let allowed = isRequest ? requests : events
        guard let allowed, !allowed.contains(name) else { return nil }
        let what = isRequest ? "request" : "event"
        return .notPermitted(WireFailure(code: .notPermitted, message: "sessions may not send the \(what) \(name) to the global bus"))
    }
}
