/// Asks the worker to detach its plugins and exit.
public struct Dispose: Sendable, Equatable {
    /// Why the session ends, if given.
    public var reason: String?

    /// Creates a dispose.
    public init(reason: String? = nil) { self.reason = reason }
}

/// The last frame a side sends before closing its socket.
public struct Bye: Sendable, Equatable {
    /// Why the side is leaving.
    public var reason: String

    /// Creates a bye.
    public init(reason: String) { self.reason = reason }
}
