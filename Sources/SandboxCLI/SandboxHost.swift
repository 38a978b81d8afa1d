import PluginKit
import PluginSandbox
import PluginSupervisor
import Synchronization

/// What a host program embeds the CLI with: its global plugins, and the sandbox its `main` bootstrapped
/// (which carries the session plugins and the configuration, profiles included).
public struct SandboxHost: Sendable {
    /// The program's name in help and messages.
    public var name: String
    /// Builds the global plugins (trusted, in the supervisor).
    public var globalPlugins: @Sendable () -> [any GlobalPlugin]
    /// The sandbox from `Sandbox.bootstrap` (session plugins, profiles, limits).
    public var sandbox: Sandbox
    /// The events and requests the host's plugins accept (what `sandboxctl plugins` shows).
    public var interface: WireInterface
    /// The program's version (`--version`).
    public var version: String

    /// Creates a host description.
    public init(name: String, version: String = SandboxCLI.version, globalPlugins: @escaping @Sendable () -> [any GlobalPlugin],
                sandbox: Sandbox, interface: WireInterface = WireInterface()) {
        self.name = name
        self.version = version
        self.globalPlugins = globalPlugins
        self.sandbox = sandbox
        self.interface = interface
    }

    /// The session plugins workers offer.
    public var sessionPlugins: SessionPluginCatalog { sandbox.sessionPlugins }

    /// Resolves a profile name (nil: the catalog's default) in the host's catalog: its
    /// directories, `$PLUGINSANDBOX_PROFILES`, `/etc/pluginsandbox/profiles`, then the built-in profiles.
    public func profile(_ name: String?) throws -> SandboxProfile {
        try sandbox.configuration.profiles.profile(named: name)
    }

    /// Resolves `--profile`: a catalog name, or a file (a path or `-`) read here.
    func profile(argument: String?, option: String = "--profile") throws -> SandboxProfile {
        if let argument, FileArgument.isProfileFile(argument) { return try FileArgument.profile(argument, for: option).profile }
        do {
            return try profile(argument)
        } catch {
            throw SettingsFileError(message: "\(option) \(argument ?? sandbox.configuration.profiles.defaultName): \(error)")
        }
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
