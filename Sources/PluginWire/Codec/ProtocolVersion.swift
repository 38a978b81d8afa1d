/// The version of the message protocol and the check both sides run during the handshake.
public enum ProtocolVersion {
    /// The version this build speaks; sent in ``Hello`` and ``Welcome``.
    public static let current = 2

    /// Accepts `remote` only when it equals `local`.
    ///
    /// - Throws: ``WireError/versionMismatch(local:remote:)`` otherwise.
    public static func check(remote: Int, local: Int = current) throws(WireError) {
        guard remote == local else { throw .versionMismatch(local: local, remote: remote) }
    }
}
