import CConfinementCalls
import CSeccomp
import PluginSystem
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A worker's seccomp notification listener, held by the supervisor: every call the worker's
/// profile answers with `trap`, and every call from a foreign architecture, stops the calling
/// thread and arrives here. Plugin code cannot see, replace or forge these reports.
///
/// The supervisor watches ``descriptor`` for readability, takes each notification with
/// ``receive()`` and ends the worker (through its ``ProcessHandle``), naming the call; the stopped
/// thread never resumes. Keep the listener open for the worker's whole life: once it is closed, the
/// calls it would have reported fail with `ENOSYS` instead.
public final class SeccompListener: Sendable {
    /// The listener (close-on-exec); owned by this object until ``close()``.
    public let descriptor: FileDescriptor
    private let open = Mutex(true)

    /// What `/proc/self/fd/N` of a seccomp listener reads.
    static let linkText = "anon_inode:seccomp notify"

    /// Takes ownership of `descriptor` after checking that it is a seccomp listener (closing it
    /// and throwing otherwise).
    public init(adopting descriptor: FileDescriptor) throws(BootstrapError) {
        let link: String
        do {
            link = try ConfinementCalls.readLink("/proc/self/fd/\(descriptor.rawValue)")
        } catch {
            descriptor.closeAfterUse()
            throw BootstrapError(.notASeccompListener, detail: "\(error)")
        }
        guard link == Self.linkText else {
            descriptor.closeAfterUse()
            throw BootstrapError(.notASeccompListener, detail: "the passed descriptor is \(link)")
        }
        self.descriptor = descriptor
    }

    deinit {
        close()
    }

    /// Takes one pending notification without blocking; nil when none is pending (or its caller
    /// has died meanwhile).
    public func receive() throws(SystemCallError) -> SeccompNotification? {
        var raw = psc_notification()
        let received = try systemCall("ioctl(SECCOMP_IOCTL_NOTIF_RECV)") { psc_notify_receive(descriptor.rawValue, &raw) }
        guard received == 1 else { return nil }
        return SeccompNotification(id: raw.id, pid: Int32(bitPattern: raw.pid), number: raw.number, architectureToken: raw.architecture)
    }

    /// Lets the stopped call fail with `errno` instead (the worker goes on). A supervisor that ends
    /// the worker does not need to answer.
    public func deny(_ notification: SeccompNotification, errno: Errno = .notPermitted) throws(SystemCallError) {
        _ = try systemCall("ioctl(SECCOMP_IOCTL_NOTIF_SEND)") { psc_notify_deny(descriptor.rawValue, notification.id, errno.rawValue) }
    }

    /// Closes the listener (once).
    public func close() {
        let wasOpen = open.withLock { open in
            defer { open = false }
            return open
        }
        if wasOpen { descriptor.closeAfterUse() }
    }
}

/// One call a worker's filter stopped and reported.
public struct SeccompNotification: Sendable, Equatable, CustomStringConvertible {
    /// The kernel's id of this notification (for ``SeccompListener/deny(_:errno:)``).
    public let id: UInt64
    /// The calling thread's id.
    public let pid: Int32
    /// The call's name in its architecture (`"number N"` when libseccomp does not know it).
    public let syscall: String
    /// The call's number as the thread passed it (x32 calls carry bit 30).
    public let number: Int32
    /// The architecture the call was made in: `x86_64`, `x32`, `i386`, `aarch64`, `arm`, or the
    /// audit token in hexadecimal.
    public let architecture: String
    /// Whether the call was made in the worker's native architecture.
    public let isNativeArchitecture: Bool

    init(id: UInt64, pid: Int32, number: Int32, architectureToken: UInt32) {
        self.id = id
        self.pid = pid
        self.number = number
        let native = pss_native_architecture()
        let x32 = native == Self.x86_64 && UInt32(bitPattern: number) & Self.x32Bit != 0
        let token = x32 ? pss_x32_architecture() : architectureToken
        self.isNativeArchitecture = architectureToken == native && !x32
        self.architecture = x32 ? "x32" : (Self.names[architectureToken] ?? "0x" + String(architectureToken, radix: 16))
        if let name = seccomp_syscall_resolve_num_arch(token, number) {
            self.syscall = String(cString: name)
            free(name)
        } else {
            self.syscall = "number \(number)"
        }
    }

    private static let x86_64: UInt32 = 0xC000_003E
    private static let x32Bit: UInt32 = 0x4000_0000
    private static let names: [UInt32: String] = [
        0xC000_003E: "x86_64", 0x4000_0003: "i386", 0xC000_00B7: "aarch64", 0x4000_0028: "arm",
    ]

    public var description: String {
        isNativeArchitecture ? syscall : "\(syscall) (\(architecture))"
    }
}
