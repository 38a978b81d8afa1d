#if canImport(Glibc)
import Glibc
#endif

/// The spawner's one system-call wrapper: retries EINTR and throws the step with errno on failure.
enum SpawnSyscall {
    /// Runs `body` (a libc call returning -1 and setting errno on failure) until it is not interrupted.
    @discardableResult
    static func call(_ step: SpawnError.Step, _ body: () -> Int32) throws(SpawnError) -> Int32 {
        while true {
            let rc = body()
            if rc >= 0 { return rc }
            let code = errno
            if code != EINTR { throw SpawnError(step: step, errno: code) }
        }
    }

    /// Checks a shim result (a value, or -errno).
    @discardableResult
    static func shim(_ step: SpawnError.Step, _ rc: Int32) throws(SpawnError) -> Int32 {
        if rc < 0 { throw SpawnError(step: step, errno: -rc) }
        return rc
    }

    /// Returns `fd` if it is at least `minimum`, else a close-on-exec duplicate at or above it
    /// (closing the original), so that placing descriptors at 0...4 in the child never clobbers a source.
    static func lift(_ fd: Int32, above minimum: Int32) throws(SpawnError) -> Int32 {
        if fd >= minimum { return fd }
        let moved: Int32
        do {
            moved = try call(.duplicate) { fcntl(fd, F_DUPFD_CLOEXEC, minimum) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        return moved
    }
}
