import PluginKit
import PluginSandbox
import PluginSupervisor
import Synchronization

/// What a host program embeds the CLI with: its plugins, and how it finds sandbox profiles.
public struct SandboxHost: Sendable {
    /// The program's name in help and messages.
    public var name: String
    /// Builds the global plugins (trusted, in the supervisor).
    public var globalPlugins: @Sendable () -> [any GlobalPlugin]
    /// The session plugins (run in confined workers).
    public var sessionPlugins: SessionPluginCatalog
    /// Resolves a profile name or path (nil: the default profile).
    public var profile: @Sendable (String?) throws -> SandboxProfile

    /// Creates a host description.
    public init(
        name: String,
        globalPlugins: @escaping @Sendable () -> [any GlobalPlugin],
        sessionPlugins: SessionPluginCatalog,
        profile: @escaping @Sendable (String?) throws -> SandboxProfile
    ) {
        self.name = name
        self.globalPlugins = globalPlugins
        self.sessionPlugins = sessionPlugins
        self.profile = profile
    }

    private static let current = Mutex<SandboxHost?>(nil)

    /// The host the commands run for (set by ``SandboxCLI/run(host:)``).
    static var shared: SandboxHost {
        get throws {
            guard let host = current.withLock({ $0 }) else { throw HostNotSet() }
            return host
        }
    }

    static func install(_ host: SandboxHost) { current.withLock { $0 = host } }

    struct HostNotSet: Error, CustomStringConvertible {
        var description: String { "SandboxCLI.run(host:) was not called" }
    }
}
