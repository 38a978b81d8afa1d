import CProbeCalls
import PluginSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The probe's worker: announces itself on the session socket, then obeys one command per line,
/// as plugin code would, from inside its confinement.
///
/// Commands: `echo TEXT` (replies TEXT), `print TEXT` (writes TEXT to stdout, replies `printed`),
/// `info` (replies JSON about the worker), `exit CODE`, `raise SIGNAL`, `sleep` (waits forever),
/// `ls DIR`, `stat PATH`, `read PATH` (what the worker can see), `oob`, `oob-receive`, `pipesize`, `pipesize-high`,
/// `sndbuf` (channel hardening), `sigsys` (installs a SIGSYS handler), `forbidden`, `i386`, `x32`
/// (calls the profile stops), `title TEXT` (sets the process title).
enum ProbeWorker {
    static func run(_ context: WorkerContext) -> Never {
        let channel = LineChannel(fd: context.socket.rawValue)
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
                case "ls":
                    try channel.send(list(argument))
                case "stat":
                    var info = stat()
                    try channel.send(stat(argument, &info) == 0 ? "found" : "errno \(errno)")
                case "read":
                    try channel.send(read(argument))
                case "oob":
                    try channel.send(outcome(probe_send_out_of_band(context.socket.rawValue)))
                case "oob-receive":
                    try channel.send(outcome(probe_receive_out_of_band(context.socket.rawValue)))
                case "pipesize":
                    try channel.send(outcome(Int(probe_set_pipe_size(STDOUT_FILENO, 1 << 20))))
                case "pipesize-high":
                    try channel.send(outcome(Int(probe_set_pipe_size_high_bits(STDOUT_FILENO, 1 << 20))))
                case "sndbuf":
                    try channel.send(outcome(Int(probe_set_send_buffer(context.socket.rawValue, 1 << 20))))
                case "sigsys":
                    try channel.send(outcome(Int(probe_install_sigsys_handler())))
                case "forbidden":
                    try channel.send(outcome(probe_forbidden_call()))
                case "i386":
                    try channel.send(outcome(probe_i386_getpid()))
                case "x32":
                    try channel.send(outcome(probe_x32_getpid()))
                case "title":
                    ProcessTitle.set(argument)
                    try channel.send("titled")
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

    /// `ok N` for a result, `errno N` for a failure (-errno).
    private static func outcome(_ result: Int) -> String {
        result < 0 ? "errno \(-result)" : "ok \(result)"
    }

    private static func list(_ path: String) -> String {
        guard let directory = opendir(path) else { return "errno \(errno)" }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted().joined(separator: ",")
    }

    private static func read(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return "errno \(errno)" }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = Glibc.read(descriptor, &buffer, buffer.count)
        if count < 0 { return "errno \(errno)" }
        return "read \(count)"
    }

    private static func info(_ context: WorkerContext) -> String {
        let backtrace = getenv("SWIFT_BACKTRACE").map { String(cString: $0) } ?? ""
        let marker = getenv("PROBE_MARKER").map { String(cString: $0) } ?? ""
        let layers = context.confinement.layers.map { "\"\($0.name)\"" }.joined(separator: ",")
        return """
            {"pid":\(getpid()),"parent":\(getppid()),"session":"\(context.sessionID ?? "")","spare":\(context.sessionID == nil),\
            "mode":"\(context.mode)","profile":"\(context.profile.name)","layers":[\(layers)],"backtrace":"\(backtrace)",\
            "marker":"\(marker)","openDescriptors":\(openDescriptorCount()),"uid":\(getuid()),\
            "spawnMicroseconds":\(context.confinement.spawnMicroseconds ?? -1)}
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
