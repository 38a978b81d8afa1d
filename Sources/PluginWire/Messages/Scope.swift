/// Which bus an emit or request targets.
public enum Scope: String, Sendable, Hashable, CaseIterable {
    /// The supervisor's global bus.
    case global
    /// The bus of the session the message belongs to.
    case session
}
