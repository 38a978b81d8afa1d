import PluginSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The probe's worker: announces itself on the session socket, then obeys one command per line.
///
/// Commands: `echo TEXT` (replies TEXT), `print TEXT` (writes TEXT to stdout, replies `printed`),
/// `info` (replies JSON about the worker), `exit CODE`, `raise SIGNAL`, `sleep` (waits forever).
enum ProbeWorker {
    static func run(_ context: WorkerContext) -> Never {
        let channel = LineChannel(fd: context.socket)
        do {
            try channel.send("ready \(getpid())")
            while true {
                let line = try channel.receive(timeout: -1)
                let (command, argument) = split(line)
                switch command {
                case "echo":
                    try channel.send(argument)
                case "print":
                    print(argument)
                    fflush(nil)
                    try channel.send("printed")
                case "info":
                    try channel.send(info(context))
                case "exit":
                    fflush(nil)
                    _exit(Int32(argument) ?? 1)
                case "raise":
                    kill(getpid(), Int32(argument) ?? SIGABRT)
                case "sleep":
                    while true { pause() }
                default:
                    try channel.send("unknown \(command)")
                }
            }
        } catch {
            // The supervisor closing the session is the normal end; anything else is a failure.
            if case .closed = error { _exit(0) }
            _exit(1)
        }
    }

    private static func split(_ line: String) -> (String, String) {
        guard let space = line.firstIndex(of: " ") else { return (line, "") }
        return (String(line[..<space]), String(line[line.index(after: space)...]))
    }

    private static func info(_ context: WorkerContext) -> String {
        let backtrace = getenv("SWIFT_BACKTRACE").map { String(cString: $0) } ?? ""
        let marker = getenv("PROBE_MARKER").map { String(cString: $0) } ?? ""
        let layers = context.confinement.layers.map { "\"\($0.name)\"" }.joined(separator: ",")
        return """
            {"pid":\(getpid()),"parent":\(getppid()),"session":"\(context.sessionID)","mode":"\(context.mode)",\
            "profile":"\(context.profile.name)","layers":[\(layers)],"backtrace":"\(backtrace)",\
            "marker":"\(marker)","openDescriptors":\(openDescriptorCount())}
            """
    }

    private static func openDescriptorCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1  // the directory stream's own descriptor
    }
}
