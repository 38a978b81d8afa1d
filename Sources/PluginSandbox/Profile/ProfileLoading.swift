import CSeccomp
import Foundation
import Synchronization

/// A profile that does not load: names the key path and the value at fault.
public struct ProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where in the document, e.g. `seccomp.groups[2].syscalls[4]`.
    public let key: String
    /// The offending value, as written.
    public let value: String
    /// What is wrong with it.
    public let reason: String

    public var description: String {
        key.isEmpty ? reason : "\(key): \(reason) (value: \(value))"
    }
}

extension SandboxProfile {
    /// The directories searched by ``named(_:)``: `$PLUGINSANDBOX_PROFILES`, then the
    /// repository's `Sandbox/profiles`.
    public static var searchPath: [String] {
        var directories: [String] = []
        if let custom = ProcessInfo.processInfo.environment["PLUGINSANDBOX_PROFILES"], !custom.isEmpty {
            directories.append(custom)
        }
        let source = URL(fileURLWithPath: #filePath)
        directories.append(source.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sandbox/profiles").path)
        return directories
    }

    /// Loads the profile called `name` (or, if `name` contains a `/` or ends in `.json`, the file at that path).
    public static func named(_ name: String) throws(ProfileError) -> SandboxProfile {
        if name.contains("/") || name.hasSuffix(".json") { return try load(contentsOf: name) }
        for directory in searchPath {
            let path = directory + "/" + name + ".json"
            if FileManager.default.fileExists(atPath: path) { return try load(contentsOf: path) }
        }
        throw ProfileError(key: "", value: name, reason: "no profile named '\(name)' in \(searchPath.joined(separator: ", "))")
    }

    /// Loads and validates the profile at `path`.
    public static func load(contentsOf path: String) throws(ProfileError) -> SandboxProfile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProfileError(key: "", value: path, reason: "cannot read the profile file \(path)")
        }
        return try decode(data)
    }

    /// Parses and validates a profile document.
    ///
    /// A document decoded before is not parsed again: a host reads the profile file for every
    /// session it opens (so an edit applies to the next session), and parsing and validating it
    /// cost more supervisor CPU than the rest of the session's setup on the supervisor's side.
    public static func decode(_ data: Data) throws(ProfileError) -> SandboxProfile {
        if let known = decoded.withLock({ $0[data] }) { return known }
        let profile = try parse(data)
        decoded.withLock { documents in
            if documents.count >= decodedCapacity { documents.removeAll(keepingCapacity: true) }
            documents[data] = profile
        }
        return profile
    }

    /// Profiles already decoded, by their document's bytes (valid ones only: an error is reported
    /// again each time).
    private static let decoded = Mutex<[Data: SandboxProfile]>([:])
    private static let decodedCapacity = 64

    private static func parse(_ data: Data) throws(ProfileError) -> SandboxProfile {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ProfileError(key: "", value: "", reason: "the profile is not valid JSON: \(error.localizedDescription) \(Self.position(of: error))")
        }
        try ProfileSchema.check(object, against: ProfileSchema.profile, at: "")
        let profile: SandboxProfile
        do {
            profile = try JSONDecoder().decode(SandboxProfile.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ProfileError(key: Self.path(context.codingPath + [key]), value: "", reason: "is required")
        } catch let DecodingError.typeMismatch(type, context) {
            throw ProfileError(key: Self.path(context.codingPath), value: "", reason: "must be \(type)")
        } catch let DecodingError.valueNotFound(type, context) {
            throw ProfileError(key: Self.path(context.codingPath), value: "null", reason: "must be \(type)")
        } catch let DecodingError.dataCorrupted(context) {
            throw ProfileError(key: Self.path(context.codingPath), value: "", reason: context.debugDescription)
        } catch {
            throw ProfileError(key: "", value: "", reason: "\(error)")
        }
        try profile.validate()
        var loaded = profile
        if loaded.supervision.memoryLimitBytes == nil, let memoryBytes = loaded.resources?.memoryBytes {
            loaded.supervision.memoryLimitBytes = Int(clamping: memoryBytes)
        }
        return loaded
    }

    /// Checks every name and number the kernel will see.
    public func validate() throws(ProfileError) {
        _ = try SeccompAction(parsing: seccomp.defaultAction, at: "seccomp.defaultAction")
        for (index, group) in seccomp.groups.enumerated() {
            if group.reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ProfileError(key: "seccomp.groups[\(index)].reason", value: "", reason: "every group needs a reason")
            }
            for (position, name) in group.syscalls.enumerated() {
                try Self.checkSyscall(name, at: "seccomp.groups[\(index)].syscalls[\(position)]")
            }
        }
        for (index, rule) in seccomp.rules.enumerated() {
            let at = "seccomp.rules[\(index)]"
            try Self.checkSyscall(rule.syscall, at: "\(at).syscall")
            _ = try SeccompAction(parsing: rule.action, at: "\(at).action")
            if rule.reason.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ProfileError(key: "\(at).reason", value: "", reason: "every rule needs a reason")
            }
            for (position, condition) in (rule.when ?? []).enumerated() {
                _ = try SeccompCondition(condition, at: "\(at).when[\(position)]")
            }
        }
        let limits: [(String, UInt64?)] = [
            ("addressSpaceBytes", rlimits.addressSpaceBytes), ("openFiles", rlimits.openFiles),
            ("processes", rlimits.processes), ("cpuSeconds", rlimits.cpuSeconds),
        ]
        for (key, value) in limits where value == 0 {
            throw ProfileError(key: "rlimits.\(key)", value: "0", reason: "must be positive (0 would stop the worker from running)")
        }
        for (index, namespace) in namespaces.enumerated() where !Self.namespaceNames.contains(namespace) {
            throw ProfileError(key: "namespaces[\(index)]", value: namespace, reason: "unknown namespace; known: \(Self.namespaceNames.joined(separator: ", "))")
        }
        for (index, path) in landlock.readOnly.enumerated() where !path.hasPrefix("/") {
            throw ProfileError(key: "landlock.readOnly[\(index)]", value: path, reason: "must be an absolute path")
        }
        let layers = ConfinementLayer.names + [CgroupController.layerName]
        for (index, layer) in allowDegraded.enumerated() where !layers.contains(layer) {
            throw ProfileError(key: "allowDegraded[\(index)]", value: layer, reason: "unknown layer; known: \(layers.joined(separator: ", "))")
        }
        try resources?.validate(supervision: supervision)
        let supervisionValues: [(String, Int)] = [
            ("heartbeatIntervalMilliseconds", supervision.heartbeatIntervalMilliseconds),
            ("heartbeatTimeoutMilliseconds", supervision.heartbeatTimeoutMilliseconds),
            ("requestTimeoutMilliseconds", supervision.requestTimeoutMilliseconds),
            ("maximumFrameLength", supervision.maximumFrameLength), ("maximumInFlight", supervision.maximumInFlight),
        ]
        for (key, value) in supervisionValues where value <= 0 {
            throw ProfileError(key: "supervision.\(key)", value: "\(value)", reason: "must be positive")
        }
        if supervision.heartbeatTimeoutMilliseconds <= supervision.heartbeatIntervalMilliseconds {
            throw ProfileError(key: "supervision.heartbeatTimeoutMilliseconds", value: "\(supervision.heartbeatTimeoutMilliseconds)",
                               reason: "must be longer than heartbeatIntervalMilliseconds (\(supervision.heartbeatIntervalMilliseconds))")
        }
    }

    /// The namespaces a profile may name: `mount` also gives the worker its minimal read-only root.
    static let namespaceNames = ["net", "ipc", "uts", "mount"]

    static func checkSyscall(_ name: String, at key: String) throws(ProfileError) {
        if seccomp_syscall_resolve_name(name) < 0 {
            throw ProfileError(key: key, value: name, reason: "unknown system call")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce("") { path, key in
            if let index = key.intValue { return path + "[\(index)]" }
            return path.isEmpty ? key.stringValue : path + "." + key.stringValue
        }
    }

    private static func position(of error: any Error) -> String {
        let info = (error as NSError).userInfo
        if let index = info["NSJSONSerializationErrorIndex"] as? Int { return "(at byte \(index))" }
        return ""
    }
}

/// The keys each section of a profile may have; anything else is an error naming it.
enum ProfileSchema {
    indirect enum Shape: Sendable {
        case object([String: Shape])
        case array(Shape)
        case leaf
        /// A whole number, zero or more.
        case count
        /// A number.
        case number
    }

    static let condition = Shape.object(["arg": .leaf, "op": .leaf, "value": .leaf, "mask": .leaf])
    static let profile = Shape.object([
        "name": .leaf, "description": .leaf, "namespaces": .leaf, "allowDegraded": .leaf,
        "seccomp": .object([
            "defaultAction": .leaf,
            "groups": .array(.object(["name": .leaf, "reason": .leaf, "syscalls": .leaf])),
            "rules": .array(.object(["syscall": .leaf, "action": .leaf, "when": .array(condition), "reason": .leaf])),
        ]),
        "rlimits": .object(["addressSpaceBytes": .leaf, "openFiles": .leaf, "processes": .leaf, "cpuSeconds": .leaf,
                            "coreBytes": .leaf, "fileSizeBytes": .leaf]),
        "landlock": .object(["enabled": .leaf, "readOnly": .leaf]),
        "identity": .object(["dropCapabilities": .leaf, "switchUser": .leaf]),
        "supervision": .object(["heartbeatIntervalMilliseconds": .leaf, "heartbeatTimeoutMilliseconds": .leaf,
                                "requestTimeoutMilliseconds": .leaf, "memoryLimitBytes": .leaf,
                                "maximumFrameLength": .leaf, "maximumInFlight": .leaf]),
        "resources": .object(["memoryBytes": .count, "cpuPercent": .count, "cpuPercentOfMachine": .count, "cpuWeight": .count, "pids": .count,
                              "cpuBudget": .object(["seconds": .number, "windowSeconds": .number])]),
    ])

    static func check(_ value: Any, against shape: Shape, at path: String) throws(ProfileError) {
        switch shape {
        case .leaf:
            return
        case .count, .number:
            guard let number = value as? NSNumber, type(of: value) != Bool.self, number.doubleValue.isFinite else {
                throw ProfileError(key: path, value: "\(value)", reason: "must be a number")
            }
            if case .count = shape, number.doubleValue < 0 || number.doubleValue.rounded() != number.doubleValue {
                throw ProfileError(key: path, value: "\(value)", reason: "must be a whole number, zero or more")
            }
        case .array(let element):
            guard let items = value as? [Any] else { throw ProfileError(key: path, value: "\(value)", reason: "must be a list") }
            for (index, item) in items.enumerated() { try check(item, against: element, at: "\(path)[\(index)]") }
        case .object(let fields):
            guard let object = value as? [String: Any] else { throw ProfileError(key: path.isEmpty ? "(top level)" : path, value: "\(value)", reason: "must be an object") }
            for key in object.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let expected = fields[key] else {
                    throw ProfileError(key: child, value: "\(object[key].map { "\($0)" } ?? "")", reason: "unknown key; allowed here: \(fields.keys.sorted().joined(separator: ", "))")
                }
                if let nested = object[key] { try check(nested, against: expected, at: child) }
            }
        }
    }
}
