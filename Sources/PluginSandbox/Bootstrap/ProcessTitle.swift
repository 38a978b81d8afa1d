import CStartupGuard

/// What `ps`, `top` and `/proc` show for a sandbox process.
///
/// Zygotes and workers start with room in their argv for a title: the main zygote shows
/// `sandbox-zygote`, a profile zygote `sandbox-zygote PROFILE`, a worker `sandbox-worker SESSION`
/// (or `sandbox-worker (spare)` until it learns its session).
public enum ProcessTitle {
    /// Shows `title` as the process's command line (the argv area the kernel shows in `ps` and
    /// `/proc/PID/cmdline`, cut to the room there is) and as the calling thread's name (`comm`,
    /// what `ps -e` and `top` list): the title without a leading `sandbox-`, cut to 15 bytes, e.g.
    /// `worker doc-1`. Call it on the main thread to rename the process's `comm`.
    public static func set(_ title: String) {
        _ = psg_set_title(title)
        try? ProcessCalls.setThreadName(threadName(title))
    }

    /// The thread name (`comm`) shown for `title`.
    static func threadName(_ title: String) -> String {
        let short = title.hasPrefix("sandbox-") ? String(title.dropFirst("sandbox-".count)) : title
        return String(decoding: short.utf8.prefix(15), as: UTF8.self)
    }

    /// The title of a worker serving `session` (nil: a spare).
    public static func worker(session: String?) -> String {
        "sandbox-worker \(session ?? "(spare)")"
    }

    /// The title of the main zygote (`profile` nil) or of the zygote of `profile`.
    static func zygote(profile: String?) -> String {
        profile.map { "sandbox-zygote \($0)" } ?? "sandbox-zygote"
    }

    /// How many bytes of title this process has room for.
    static var capacity: Int { Int(psg_title_capacity()) }
}
