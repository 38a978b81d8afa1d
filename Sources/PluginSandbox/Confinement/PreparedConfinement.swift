import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What confining a worker under one profile needs, prepared once: the namespaces entered and the
/// minimal root built (in the preparing process itself), the profile's seccomp program compiled,
/// and its Landlock ruleset created.
///
/// A profile zygote prepares once and every worker it forks inherits the result (namespaces and
/// root for free; the program and ruleset to load). An exec'd worker prepares for itself.
struct PreparedConfinement {
    /// The profile prepared for.
    let profile: SandboxProfile
    /// Layers engaged by the preparation (namespaces, root), in order.
    let layers: [EngagedLayer]
    /// The seccomp program and its report detail; nil when the profile has no filter.
    let seccomp: (program: LoadableProgram, detail: String)?
    /// The Landlock ruleset (close-on-exec, numbered at least ``WorkerChannels/Slot/firstFree``) and
    /// its report detail; nil when the profile does not use Landlock or it degraded.
    let landlock: (ruleset: FileDescriptor, detail: String)?

    /// The hostname a worker sees in its own UTS namespace.
    static let hostname = "sandbox"

    /// Prepares `profile` in the calling process (as root, single-threaded).
    static func prepare(_ profile: SandboxProfile) throws(ConfinementError) -> PreparedConfinement {
        var log = LayerLog(degradable: Set(profile.allowDegraded))
        var namespaces: ConfinementCalls.Namespaces = []
        for name in profile.namespaces {
            switch name {
            case "net": namespaces.insert(.net)
            case "ipc": namespaces.insert(.ipc)
            case "uts": namespaces.insert(.uts)
            case "mount": namespaces.insert(.mount)
            default: break  // validation names every other value
            }
        }
        var rootPossible = false
        if !namespaces.isEmpty {
            if geteuid() != 0 { namespaces.insert(.user) }
            rootPossible = try log.attempt("namespaces", profile.namespaces.joined(separator: "+")) { () throws(SystemCallError) in
                try ConfinementCalls.unshare(namespaces)
                if namespaces.contains(.uts) { try ConfinementCalls.setHostname(hostname) }
            } && namespaces.contains(.mount)
        }
        if rootPossible {
            var detail = ""
            _ = try log.attempt("root", "minimal root") { () throws(SystemCallError) in
                detail = try MinimalRoot.enter(readOnly: profile.landlock.readOnly)
            }
            log.rename("root", detail: detail)
        }

        var seccomp: (LoadableProgram, String)?
        if profile.seccomp.defaultAction != "allow" || !profile.seccomp.rules.isEmpty {
            do {
                let policy = try SeccompPolicy(profile.seccomp)
                seccomp = (LoadableProgram(try policy.program()), "default \(policy.defaultAction), \(policy.ruleCount) rules, foreign architectures reported")
            } catch {
                throw ConfinementError(layer: "seccomp", errno: EINVAL, detail: error.description)
            }
        }

        var landlock: (FileDescriptor, String)?
        if profile.landlock.enabled {
            let abi = ConfinementCalls.landlockABI()
            let readOnly = profile.landlock.readOnly
            let detail = "abi \(abi), read-only \(readOnly.isEmpty ? "nothing" : readOnly.joined(separator: ",")), no writes"
                + (abi >= 4 ? ", no tcp" : "") + (abi >= 6 ? ", signals scoped" : ", signals NOT scoped (ABI < 6)")
            var ruleset: FileDescriptor?
            let engaged = try log.attempt("landlock", detail, record: false) { () throws(SystemCallError) in
                guard abi > 0 else { throw SystemCallError(function: "landlock_create_ruleset", errno: .noFunction) }
                ruleset = try landlockRuleset(abi: abi, readOnly: readOnly)
            }
            if engaged, let ruleset { landlock = (ruleset, detail) }
        }
        return PreparedConfinement(profile: profile, layers: log.layers, seccomp: seccomp, landlock: landlock)
    }

    /// A ruleset granting reads beneath `readOnly` and the root's devices (writes to /dev/null).
    private static func landlockRuleset(abi: Int, readOnly: [String]) throws(SystemCallError) -> FileDescriptor {
        let created = try ConfinementCalls.landlockRuleset(abi: abi)
        let ruleset: FileDescriptor
        do {
            ruleset = try ProcessCalls.duplicate(created, atLeast: WorkerChannels.Slot.firstFree)
        } catch {
            created.closeAfterUse()
            throw error
        }
        created.closeAfterUse()
        do {
            for path in readOnly + MinimalRoot.devices {
                let beneath: FileDescriptor
                do {
                    beneath = try ConfinementCalls.openPath(path)
                } catch where error.errno == .noSuchFileOrDirectory {
                    continue  // a missing path grants nothing
                }
                defer { beneath.closeAfterUse() }
                try ConfinementCalls.landlockAllow(ruleset, abi: abi, beneath: beneath, writable: path == "/dev/null")
            }
        } catch {
            ruleset.closeAfterUse()
            throw error
        }
        return ruleset
    }
}

/// A seccomp program at a fixed address, for the start sequence of every worker to load.
final class LoadableProgram {
    /// The instructions.
    let instructions: UnsafeMutableRawPointer
    /// How many 8-byte instructions there are.
    let count: Int

    init(_ program: SeccompProgram) {
        instructions = .allocate(byteCount: max(program.instructions.count, 8), alignment: 8)
        instructions.copyMemory(from: program.instructions, byteCount: program.instructions.count)
        count = program.count
    }

    deinit {
        instructions.deallocate()
    }
}

/// The layers engaged so far, and the rule that a layer the profile does not let degrade fails
/// the whole confinement.
struct LayerLog {
    let degradable: Set<String>
    private(set) var layers: [EngagedLayer] = []

    init(degradable: Set<String>, layers: [EngagedLayer] = []) {
        self.degradable = degradable
        self.layers = layers
    }

    /// Runs `body` for `layer`: on success records it (unless `record` is false, for a layer whose
    /// engagement happens later) and returns true; a failure of a degradable layer is recorded as
    /// DEGRADED and returns false; any other failure throws.
    @discardableResult
    mutating func attempt(_ layer: String, _ detail: String, record: Bool = true,
                          _ body: () throws(SystemCallError) -> Void) throws(ConfinementError) -> Bool {
        do {
            try body()
            if record { layers.append(EngagedLayer(name: layer, detail: detail)) }
            return true
        } catch {
            guard degradable.contains(layer) else {
                throw ConfinementError(layer: layer, errno: error.errno.rawValue, detail: "\(error.function); \(detail)")
            }
            layers.append(EngagedLayer(name: layer, detail: "DEGRADED: \(error)"))
            return false
        }
    }

    /// Replaces the detail of the engaged layer `layer` (when it was not degraded).
    mutating func rename(_ layer: String, detail: String) {
        guard let index = layers.lastIndex(where: { $0.name == layer }), !layers[index].detail.hasPrefix("DEGRADED") else { return }
        layers[index].detail = detail
    }

    /// Records an engaged layer.
    mutating func append(_ layer: String, _ detail: String) {
        layers.append(EngagedLayer(name: layer, detail: detail))
    }
}
