#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginKit
import Synchronization

/// Tells the fault plugin in a session to misbehave: `kind` names the fault, `argument` tunes it.
public struct InjectFault: WireEvent, Equatable {
    public var kind: String
    public var argument: Int?
    public init(kind: String, argument: Int? = nil) {
        self.kind = kind
        self.argument = argument
    }
}

/// A request whose handler misbehaves the same way (for faults inside a request).
public struct FaultyRequest: WireRequest, Equatable {
    public typealias Response = String
    public var kind: String
    public init(kind: String) { self.kind = kind }
}

/// A sequenced message for soak runs: each session checks it gets every number once, in order.
public struct SoakTick: WireEvent, Equatable {
    public var sequence: Int
    public init(sequence: Int) { self.sequence = sequence }
}

/// Asks a session what it saw of the ``SoakTick`` stream: how many, the last, and how many arrived out of order.
public struct SoakReport: WireRequest, Equatable {
    public typealias Response = [Int]
    public init() {}
}

/// A global event a flooding plugin sends as fast as it can.
public struct FloodEvent: WireEvent, Equatable {
    public var index: Int
    public init(index: Int) { self.index = index }
}

/// A forgery of the supervisor's lifecycle event: same wire name, sent by a plugin.
struct ForgedSessionCrashed: WireEvent {
    static var wireName: String { "SessionCrashed" }
    var sessionID: String
    var willRestart: Bool
}

/// A session plugin that misbehaves on command: every way a plugin can crash, hang, leak, flood
/// or attack. Each fault is plugin code run inside the confined worker, exactly as a hostile
/// plugin would run it.
public struct FaultPlugin: SessionPlugin {
    public let id: PluginID = "fault"
    public init() {}

    /// The faults this plugin knows.
    public static let kinds: [String] = FaultKind.allCases.map(\.rawValue)

    public func attach(_ context: SessionPluginContext) async throws {
        // A settings-driven attach failure, for testing rollback across processes.
        if let session = context.config(for: id).string("failAttachIn"), session == context.sessionID.rawValue {
            throw FaultKind.Thrown(description: "fault plugin refuses to attach in \(session) (failAttachIn)")
        }
        let globalBus = context.globalBus
        let sessionID = context.sessionID
        context.on(InjectFault.self, for: id) { envelope in
            switch FaultKind(rawValue: envelope.payload.kind) {
            case .globalCallFlood?:
                // Global emits written straight to the socket, never waiting for an answer: more
                // than the supervisor admits, in a second or in flight.
                for index in 0..<(envelope.payload.argument ?? 100_000) {
                    let body = #"{"kind":"emit","id":\#(1_000_000 + index),"scope":"global","event":"FloodEvent","payload":{"index":\#(index)}}"#
                    FaultKind.write(FaultKind.frame(body))
                }
                _ = try await globalBus.emit(FloodEvent(index: -1))
            case .forgeLifecycleEvent?:
                // The supervisor's own event, claiming another session crashed.
                _ = try await globalBus.emit(ForgedSessionCrashed(sessionID: "doc-victim", willRestart: false))
                throw FaultKind.Thrown(description: "the global bus accepted a forged SessionCrashed from \(sessionID)")
            default:
                try FaultKind.run(envelope.payload.kind, argument: envelope.payload.argument)
            }
        }
        let seen = Mutex((count: 0, last: -1, disorder: 0))
        context.on(SoakTick.self, for: id) { envelope in
            let sequence = envelope.payload.sequence
            seen.withLock { state in
                if state.last >= 0 && sequence != state.last + 1 { state.disorder += 1 }
                state.count += 1
                state.last = sequence
            }
        }
        context.onRequest(SoakReport.self, for: id) { _ in seen.withLock { [$0.count, $0.last, $0.disorder] } }
        context.onRequest(FaultyRequest.self, for: id) { request in
            try FaultKind.run(request.kind, argument: nil)
            return "survived \(request.kind)"
        }
    }
}

/// The faults, each a real misbehaviour.
enum FaultKind: String, CaseIterable {
    case segfault, fatalError, precondition, abort, exit, stackOverflow, endlessLoop
    case memoryLeak, fdLeak, threadBomb, fork, network, exec, readOutside, writeOutside
    case ptraceSupervisor, signalSupervisor, garbageBytes, oversizedFrame, frameFlood, partialFrame
    case lieAboutSession, closeSocket, neverRead, throwError, hugeAllocation
    // Attacks on the supervisor and the other sessions (issue: isolation under attack).
    case pongFlood, errorFlood, cancelFlood, replyFlood, byeTwice, globalCallFlood, forgedLogLines, logBytesFlood
    case outputFlood, forgeLifecycleEvent, spinThread, memoryBurst, ownSigsysHandler, foreignArchitecture
    case listProcesses, statOutside, outOfBandData, growPipe
    // Ordinary work a worker must survive.
    case lockContention

    /// The session socket's descriptor in a worker.
    static let sessionSocket: Int32 = 3

    /// The handler's thread and a thread of its own take one `Mutex` in turn, `iterations` times
    /// each, so that they contend in the kernel (a priority-inheritance futex): a worker whose
    /// threads do not each know their own id traps here.
    static func contend(iterations: Int) throws {
        final class Shared: Sendable {
            let counter = Mutex(0)
            let done = Atomic<Bool>(false)
        }
        let shared = Shared()
        let other = Thread {
            for _ in 0..<iterations { shared.counter.withLock { $0 += 1 } }
            shared.done.store(true, ordering: .releasing)
        }
        other.start()
        for _ in 0..<iterations { shared.counter.withLock { $0 += 1 } }
        while !shared.done.load(ordering: .acquiring) { usleep(1000) }
        let total = shared.counter.withLock { $0 }
        guard total == 2 * iterations else { throw Thrown(description: "the counter reached \(total), not \(2 * iterations)") }
    }

    struct Thrown: Error, CustomStringConvertible { var description: String }

    static func run(_ name: String, argument: Int?) throws {
        guard let kind = FaultKind(rawValue: name) else { throw Thrown(description: "unknown fault '\(name)'") }
        try kind.run(argument: argument)
    }

    func run(argument: Int?) throws {
        switch self {
        case .segfault:
            raise(SIGSEGV)
        case .fatalError:
            Swift.fatalError("fault plugin: fatalError on command")
        case .precondition:
            Swift.precondition(argument == -12345, "fault plugin: precondition failed on command")
        case .abort:
            Glibc.abort()
        case .exit:
            Glibc.exit(Int32(argument ?? 3))
        case .stackOverflow:
            _ = Self.recurse(1)
        case .endlessLoop:
            var spin: UInt64 = 0
            while true { spin &+= 1; if spin == 0 { sched_yield() } }
        case .memoryLeak:
            var hoard: [UnsafeMutableRawPointer] = []
            while true {
                guard let block = malloc(16 << 20) else { Glibc.exit(70) }
                memset(block, 1, 16 << 20)
                hoard.append(block)
            }
        case .fdLeak:
            var opened = 0
            while true {
                let descriptor = dup(0)
                if descriptor < 0 { throw Thrown(description: "fd leak stopped after \(opened) descriptors: errno \(errno)") }
                opened += 1
            }
        case .threadBomb:
            var started = 0
            while true {
                let thread = Thread { while true { sleep(60) } }
                thread.start()
                started += 1
                if started > 100_000 { break }
            }
        case .fork:
            let pid = Glibc.fork()
            if pid == 0 { Glibc._exit(0) }
            throw Thrown(description: "fork returned \(pid), errno \(errno)")
        case .network:
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            throw Thrown(description: "socket returned \(descriptor), errno \(errno)")
        case .exec:
            execv("/bin/sh", [strdup("/bin/sh"), nil])
            throw Thrown(description: "execv failed: errno \(errno)")
        case .readOutside:
            let descriptor = open("/etc/passwd", O_RDONLY)
            throw Thrown(description: "open(/etc/passwd) returned \(descriptor), errno \(errno)")
        case .writeOutside:
            let descriptor = open("/tmp/plugin-sandbox-escape", O_WRONLY | O_CREAT, 0o644)
            throw Thrown(description: "open(/tmp/...) for writing returned \(descriptor), errno \(errno)")
        case .ptraceSupervisor:
            // ptrace is variadic in C, so a hostile plugin reaches it through the symbol table.
            typealias Ptrace = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "ptrace") else { throw Thrown(description: "no ptrace symbol") }
            let result = unsafeBitCast(symbol, to: Ptrace.self)(16 /* PTRACE_ATTACH */, getppid(), nil, nil)
            throw Thrown(description: "ptrace returned \(result), errno \(errno)")
        case .signalSupervisor:
            let result = Glibc.kill(getppid(), SIGKILL)
            throw Thrown(description: "kill(supervisor) returned \(result), errno \(errno)")
        case .garbageBytes:
            Self.write([0, 0, 0, 9] + Array("not json!".utf8))
        case .oversizedFrame:
            Self.write([0x40, 0, 0, 0])
        case .frameFlood:
            let frame = Self.frame(#"{"kind":"log","level":"info","message":"flood","metadata":{}}"#)
            for _ in 0..<200_000 { Self.write(frame) }
        case .partialFrame:
            Self.write([0, 0, 1, 0] + Array(#"{"kind":"pong","#.utf8))
            while true { sleep(60) }
        case .lieAboutSession:
            Self.write(Self.frame(#"{"kind":"hello","protocolVersion":2,"pid":1,"plugins":[],"build":"someone else"}"#))
        case .closeSocket:
            close(Self.sessionSocket)
        case .neverRead:
            // Block the worker's reader by stopping the process from reading: hold every thread.
            while true { sleep(60) }
        case .throwError:
            throw Thrown(description: "the fault plugin threw on command")
        case .lockContention:
            try Self.contend(iterations: argument ?? 200_000)
        case .pongFlood, .errorFlood, .cancelFlood, .replyFlood, .byeTwice, .forgedLogLines, .logBytesFlood, .outputFlood,
             .spinThread, .memoryBurst, .ownSigsysHandler, .foreignArchitecture, .listProcesses, .statOutside,
             .outOfBandData, .growPipe:
            try Attack.run(self, argument: argument)
        case .globalCallFlood, .forgeLifecycleEvent:
            throw Thrown(description: "\(rawValue) needs the session context; it is run by the plugin's handler")
        case .hugeAllocation:
            // 8 GiB of address space at once: RLIMIT_AS must refuse it, cleanly.
            let address = mmap(nil, 8 << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            if address == MAP_FAILED { throw Thrown(description: "mmap of 8 GiB failed: errno \(errno)") }
            munmap(address, 8 << 30)
        }
    }

    @inline(never)
    static func recurse(_ depth: Int) -> Int {
        if depth == Int.max { return depth }
        var padding = [UInt8](repeating: UInt8(truncatingIfNeeded: depth), count: 512)
        padding[0] &+= 1
        return recurse(depth + 1) + Int(padding[depth % 512])
    }

    static func frame(_ json: String) -> [UInt8] {
        let body = Array(json.utf8)
        let length = UInt32(body.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + body
    }

    static func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.write(sessionSocket, $0.baseAddress, $0.count) }
    }
}

/// The fault plugins' catalog entries.
public enum FaultCatalog {
    /// Session plugins that misbehave on command.
    public static let sessionPlugins: [@Sendable () -> any SessionPlugin] = [{ FaultPlugin() }]

    /// The events and requests the fault plugin handles in each session.
    public static var interface: WireInterface {
        WireInterface([
            .event(InjectFault.self, handledBy: ["fault"], "runs the fault named by `kind` (see `sandboxctl faults`); `argument` tunes it"),
            .event(SoakTick.self, handledBy: ["fault"], "one numbered tick of a soak run; the plugin checks it sees each once, in order"),
            .request(SoakReport.self, answeredBy: ["fault"], "what the plugin saw of the soak ticks: [count, last, out of order]"),
            .request(FaultyRequest.self, answeredBy: ["fault"], "runs the fault named by `kind` inside a request handler"),
        ])
    }
}
