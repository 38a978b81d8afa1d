import Foundation

/// Where a host finds its sandbox profiles by name.
///
/// Search order: the catalog's own directories, then `$PLUGINSANDBOX_PROFILES` (a directory),
/// then the system directory `/etc/pluginsandbox/profiles`, then the profiles shipped with
/// PluginSandbox (`default`, `strict`, `debug`, compiled into the program, so an installed binary
/// needs no files). A file `NAME.json` in an earlier place overrides a later one.
public struct ProfileCatalog: Sendable {
    /// The environment variable naming an extra profile directory.
    public static let environmentVariable = "PLUGINSANDBOX_PROFILES"
    /// The system profile directory.
    public static let systemDirectory = "/etc/pluginsandbox/profiles"

    /// Directories searched first, in order.
    public var directories: [String]
    /// The profile used when a session names none.
    public var defaultName: String
    private let environmentDirectory: String?
    private let includesSystemDirectory: Bool

    /// A catalog searching `directories`, then the environment's and the system's directory, then
    /// the built-in profiles.
    public init(directories: [String] = [], defaultName: String = "default",
                environment: [String: String] = ProcessInfo.processInfo.environment, includesSystemDirectory: Bool = true) {
        self.directories = directories
        self.defaultName = defaultName
        self.environmentDirectory = environment[Self.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        self.includesSystemDirectory = includesSystemDirectory
    }

    /// Every directory searched, in order.
    public var searchPath: [String] {
        directories + [environmentDirectory].compactMap { $0 } + (includesSystemDirectory ? [Self.systemDirectory] : [])
    }

    /// The profile called `name` (nil: ``defaultName``).
    /// - Throws: ``ProfileError`` naming the profile and every place searched, or the key at fault
    ///   in a profile that does not validate.
    public func profile(named name: String? = nil) throws(ProfileError) -> SandboxProfile {
        let name = name ?? defaultName
        guard Self.isValidName(name) else {
            throw ProfileError(key: "", value: name, reason: "a profile name is letters, digits, '.', '_' and '-' (to use a file, send its contents)")
        }
        for directory in searchPath {
            let path = directory + "/" + name + ".json"
            if FileManager.default.fileExists(atPath: path) { return try SandboxProfile.load(contentsOf: path) }
        }
        if let document = BuiltinProfiles.documents[name] { return try SandboxProfile.decode(Data(document.utf8)) }
        let places = searchPath.map { "\($0)/\(name).json" } + ["the built-in profiles (\(BuiltinProfiles.documents.keys.sorted().joined(separator: ", ")))"]
        throw ProfileError(key: "", value: name, reason: "no profile named '\(name)'; looked in \(places.joined(separator: ", ")); set \(Self.environmentVariable) to a directory of profiles")
    }

    /// The names of every profile the catalog can load.
    public var names: [String] {
        var names = Set(BuiltinProfiles.documents.keys)
        for directory in searchPath {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files where file.hasSuffix(".json") { names.insert(String(file.dropLast(5))) }
        }
        return names.sorted()
    }

    /// The built-in profile documents, exactly as shipped.
    public static var builtinDocuments: [String: String] { BuiltinProfiles.documents }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        } && !name.hasPrefix(".")
    }
}
