import CSeccomp
import Foundation

/// What a seccomp rule does to a matching syscall.
public struct SeccompAction: Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable { case allow, trap, kill, log, errno(Int32) }
    private let kind: Kind

    /// Let the call through.
    public static let allow = SeccompAction(kind: .allow)
    /// Stop the call and report it to the supervisor (`SECCOMP_RET_USER_NOTIF` on the worker's
    /// listener), which ends the worker naming the call. Nothing in the worker can intercept it.
    public static let trap = SeccompAction(kind: .trap)
    /// Kill the process at once (no report).
    public static let kill = SeccompAction(kind: .kill)
    /// Let the call through and have the kernel log it (the debug profile).
    public static let log = SeccompAction(kind: .log)
    /// Fail the call with `code`.
    public static func errno(_ code: Int32) -> SeccompAction { SeccompAction(kind: .errno(code)) }

    private init(kind: Kind) { self.kind = kind }

    static let errnoNames: [String: Int32] = [
        "EPERM": EPERM, "EACCES": EACCES, "ENOSYS": ENOSYS, "EAFNOSUPPORT": EAFNOSUPPORT, "EINVAL": EINVAL, "ENOMEM": ENOMEM,
    ]

    /// Parses `allow`, `trap`, `kill`, `log`, `errno:NAME`.
    init(parsing text: String, at key: String) throws(ProfileError) {
        switch text {
        case "allow": kind = .allow
        case "trap": kind = .trap
        case "kill": kind = .kill
        case "log": kind = .log
        default:
            guard text.hasPrefix("errno:"), let code = Self.errnoNames[String(text.dropFirst(6))] else {
                throw ProfileError(key: key, value: text, reason: "unknown action; use allow, trap, kill, log or errno:NAME (\(Self.errnoNames.keys.sorted().joined(separator: ", ")))")
            }
            kind = .errno(code)
        }
    }

    var raw: UInt32 {
        switch kind {
        case .allow: return pss_action_allow()
        case .trap: return pss_action_notify()
        case .kill: return pss_action_kill()
        case .log: return pss_action_log()
        case .errno(let code): return pss_action_errno(code)
        }
    }

    public var description: String {
        switch kind {
        case .allow: return "allow"
        case .trap: return "trap"
        case .kill: return "kill"
        case .log: return "log"
        case .errno(let code): return "errno \(Self.errnoNames.first { $0.value == code }?.key ?? "\(code)")"
        }
    }
}

/// One compiled argument comparison.
struct SeccompCondition {
    static let constants: [String: UInt64] = [
        "CLONE_THREAD": 0x0001_0000, "CLONE_VM": 0x0000_0100, "CLONE_FS": 0x0000_0200, "CLONE_FILES": 0x0000_0400,
        "CLONE_SIGHAND": 0x0000_0800, "PR_SET_NAME": 15, "PR_GET_NAME": 16, "PR_GET_DUMPABLE": 3, "TCGETS": 0x5401, "FIONBIO": 0x5421,
        "FIONREAD": 0x541B, "PRIO_PROCESS": 0, "RLIMIT_NOFILE": 7, "RLIMIT_STACK": 3, "RLIMIT_AS": 9,
        "MSG_OOB": 0x1, "F_SETPIPE_SZ": 1031, "LOWER_32_BITS": 0xFFFF_FFFF,
    ]

    let comparison: scmp_arg_cmp

    init(_ condition: ArgumentCondition, at key: String) throws(ProfileError) {
        guard (0...5).contains(condition.arg) else {
            throw ProfileError(key: "\(key).arg", value: "\(condition.arg)", reason: "argument index must be 0 to 5")
        }
        let value = try Self.resolve(condition.value, at: "\(key).value")
        var comparison = scmp_arg_cmp()
        comparison.arg = UInt32(condition.arg)
        switch condition.op {
        case "equals":
            comparison.op = SCMP_CMP_EQ
            comparison.datum_a = value
        case "not-equals":
            comparison.op = SCMP_CMP_NE
            comparison.datum_a = value
        case "masked-equals":
            guard let mask = condition.mask else {
                throw ProfileError(key: "\(key).mask", value: "", reason: "masked-equals needs a mask")
            }
            comparison.op = SCMP_CMP_MASKED_EQ
            comparison.datum_a = try Self.resolve(mask, at: "\(key).mask")
            comparison.datum_b = value
        default:
            throw ProfileError(key: "\(key).op", value: condition.op, reason: "unknown comparison; use equals, not-equals or masked-equals")
        }
        self.comparison = comparison
    }

    static func resolve(_ value: ConditionValue, at key: String) throws(ProfileError) -> UInt64 {
        switch value {
        case .number(let number): return number
        case .name("self"):
            throw ProfileError(key: key, value: "self", reason: "pid-bound conditions are not supported: filters are compiled once per profile; signals are scoped by Landlock (ABI 6) and per-worker uids")
        case .name(let name):
            guard let constant = constants[name] else {
                throw ProfileError(key: key, value: name, reason: "unknown constant; known: \(constants.keys.sorted().joined(separator: ", "))")
            }
            return constant
        }
    }
}

/// A profile's seccomp section compiled into a libseccomp filter.
///
/// Nothing in it depends on the process that loads it, so a profile zygote compiles it once and
/// every worker loads the same ``SeccompProgram``. Calls from a foreign architecture (i386 through
/// `int 0x80`, x32) are reported like `trap` calls, so the supervisor ends the whole worker naming
/// them. ``dump()`` renders the filter in libseccomp's pseudo filter code, for review and golden tests.
public final class SeccompPolicy {
    private let context: scmp_filter_ctx
    /// How many rules were added.
    public let ruleCount: Int
    /// The default action.
    public let defaultAction: SeccompAction

    /// Compiles `section`.
    public init(_ section: SeccompSection) throws(ProfileError) {
        let defaultAction = try SeccompAction(parsing: section.defaultAction, at: "seccomp.defaultAction")
        guard let context = seccomp_init(defaultAction.raw) else {
            throw ProfileError(key: "seccomp", value: "", reason: "libseccomp could not create a filter")
        }
        self.context = context
        self.defaultAction = defaultAction
        var count = 0
        do throws(ProfileError) {
            guard seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, SeccompAction.trap.raw) == 0 else {
                throw ProfileError(key: "seccomp", value: "", reason: "libseccomp refused the foreign-architecture action")
            }
            for (index, rule) in section.rules.enumerated() {
                let at = "seccomp.rules[\(index)]"
                let action = try SeccompAction(parsing: rule.action, at: "\(at).action")
                let conditions = try (rule.when ?? []).enumerated().map { (position, condition) throws(ProfileError) in
                    try SeccompCondition(condition, at: "\(at).when[\(position)]").comparison
                }
                try Self.add(context, defaultAction, action, rule.syscall, conditions, at: at)
                count += 1
            }
            let named = Set(section.rules.map(\.syscall))
            for (index, group) in section.groups.enumerated() {
                for name in group.syscalls where !named.contains(name) {
                    try Self.add(context, defaultAction, .allow, name, [], at: "seccomp.groups[\(index)]")
                    count += 1
                }
            }
        } catch {
            seccomp_release(context)
            throw error
        }
        ruleCount = count
    }

    deinit {
        seccomp_release(context)
    }

    private static func add(_ context: scmp_filter_ctx, _ defaultAction: SeccompAction, _ action: SeccompAction, _ name: String,
                            _ conditions: [scmp_arg_cmp], at key: String) throws(ProfileError) {
        let number = seccomp_syscall_resolve_name(name)
        guard number >= 0 else { throw ProfileError(key: key, value: name, reason: "unknown system call") }
        if action == defaultAction && conditions.isEmpty { return }
        let result = conditions.withUnsafeBufferPointer { buffer in
            pss_rule_add(context, action.raw, number, UInt32(buffer.count), buffer.baseAddress)
        }
        guard result == 0 else {
            throw ProfileError(key: key, value: name, reason: "libseccomp refused the rule: \(String(cString: strerror(-result)))")
        }
    }

    /// The filter as a classic BPF program, ready to load.
    public func program() throws(ProfileError) -> SeccompProgram {
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        let result = pss_export_program(context, &buffer, &length)
        guard result == 0, let buffer else {
            throw ProfileError(key: "seccomp", value: "", reason: "libseccomp could not export the program: \(String(cString: strerror(-result)))")
        }
        defer { free(buffer) }
        return SeccompProgram(instructions: Array(UnsafeRawBufferPointer(start: buffer, count: length)))
    }

    /// The filter as libseccomp's pseudo filter code (stable text for golden tests).
    public func dump() -> String {
        guard let file = tmpfile() else { return "" }
        defer { fclose(file) }
        _ = pss_export_text(context, fileno(file))
        fflush(file)
        rewind(file)
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            output.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// A compiled seccomp filter: classic BPF instructions (8 bytes each).
public struct SeccompProgram: Sendable, Equatable {
    /// The instructions' bytes.
    public let instructions: [UInt8]
    /// The number of instructions.
    public var count: Int { instructions.count / 8 }
}
