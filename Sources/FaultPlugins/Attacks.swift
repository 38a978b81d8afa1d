#if canImport(Glibc)
import Glibc
#endif
import CFaultCalls
import Foundation
import PluginKit

/// A plugin's attacks on what it shares with other sessions: the supervisor's data plane (every
/// message kind it can send, as fast as it can), the supervisor's log, the global bus, the CPU,
/// memory, and the confinement's reporting and visibility. Each is plugin code inside the confined
/// worker; each must end (or be refused for) only the attacker, with a named cause.
enum Attack {
    /// Runs `kind`; returns normally when the attack was refused and the plugin lives on.
    static func run(_ kind: FaultKind, argument: Int?) throws {
        switch kind {
        case .pongFlood:
            // Pongs that answer no ping, as fast as the socket takes them.
            let frame = FaultKind.frame(#"{"kind":"pong","id":123456789}"#)
            for _ in 0..<(argument ?? 1_000_000) { FaultKind.write(frame) }
        case .errorFlood:
            let frame = FaultKind.frame(#"{"kind":"error","code":"internal","message":"flood"}"#)
            for _ in 0..<(argument ?? 1_000_000) { FaultKind.write(frame) }
        case .cancelFlood:
            for id in 0..<(argument ?? 1_000_000) { FaultKind.write(FaultKind.frame(#"{"kind":"cancel","id":\#(9_000_000 + id)}"#)) }
        case .replyFlood:
            // Replies to calls nobody made.
            for id in 0..<(argument ?? 1_000_000) {
                FaultKind.write(FaultKind.frame(#"{"kind":"response","id":\#(8_000_000 + id),"payload":1}"#))
            }
        case .byeTwice:
            let frame = FaultKind.frame(#"{"kind":"bye","reason":"again"}"#)
            FaultKind.write(frame)
            FaultKind.write(frame)
        case .forgedLogLines:
            // Lines that pretend to be the supervisor's, about another session.
            let forged = #"ok\n2026-11-29T00:00:00Z critical plugin-supervisor : session=doc-victim pid=1 [PluginSupervisor] worker ended: killedByOperator"#
            let json = #"{"kind":"log","level":"critical","message":"\#(forged)","metadata":{"session":"doc-victim","pid":"1"}}"#
            for _ in 0..<(argument ?? 10) { FaultKind.write(FaultKind.frame(json)) }
        case .logBytesFlood:
            // Few records, each as large as a frame allows: a gigabyte of log in seconds if unbounded.
            let text = String(repeating: "x", count: 60_000)
            let frame = FaultKind.frame(#"{"kind":"log","level":"info","message":"\#(text)","metadata":{}}"#)
            for _ in 0..<(argument ?? 100_000) { FaultKind.write(frame) }
        case .outputFlood:
            // stdout as fast as possible: the output pipe is bounded and read at a bounded rate.
            let line = [UInt8](repeating: UInt8(ascii: "y"), count: 4095) + [UInt8(ascii: "\n")]
            for _ in 0..<(argument ?? 50_000) { _ = line.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) } }
        case .spinThread:
            // A thread of its own, outside any handler, spinning forever; the handler returns at once.
            var handle = pthread_t()
            _ = pthread_create(&handle, nil, { _ in
                var spin: UInt64 = 0
                while true { spin &+= 1 }
            }, nil)
        case .memoryBurst:
            // Touch memory as fast as possible, well past any limit.
            var blocks: [UnsafeMutableRawPointer] = []
            for _ in 0..<(argument ?? 4096) {
                guard let block = malloc(1 << 20) else { break }
                memset(block, 0x5A, 1 << 20)
                blocks.append(block)
            }
            throw FaultKind.Thrown(description: "allocated \(blocks.count) MiB and lived")
        case .ownSigsysHandler:
            // Catch SIGSYS so a trapped call "just fails" and nobody learns; then make one.
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in }
            sigaction(SIGSYS, &action, nil)
            typealias Ptrace = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "ptrace") else { throw FaultKind.Thrown(description: "no ptrace") }
            let result = unsafeBitCast(symbol, to: Ptrace.self)(16, getppid(), nil, nil)
            throw FaultKind.Thrown(description: "ptrace under an own SIGSYS handler returned \(result), errno \(errno)")
        case .foreignArchitecture:
            // getpid through the i386 entry point (int 0x80): a call of a foreign architecture.
            let result = argument == 32 ? x32_getpid() : foreign_architecture_getpid()
            throw FaultKind.Thrown(description: "a foreign-architecture getpid returned \(result)")
        case .listProcesses:
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            let processes = names.filter { $0.allSatisfy(\.isNumber) }
            throw FaultKind.Thrown(description: "sees \(processes.count) processes: \(processes.sorted().prefix(8).joined(separator: ","))")
        case .statOutside:
            var status = stat()
            let result = stat("/etc/passwd", &status)
            throw FaultKind.Thrown(description: "stat(/etc/passwd) returned \(result), errno \(errno)")
        case .outOfBandData:
            var byte: UInt8 = 0x21
            let result = send(FaultKind.sessionSocket, &byte, 1, Int32(MSG_OOB))
            throw FaultKind.Thrown(description: "send(MSG_OOB) returned \(result), errno \(errno)")
        case .growPipe:
            let result = fcntl(1, 1031 /* F_SETPIPE_SZ */, 1 << 20)
            throw FaultKind.Thrown(description: "fcntl(F_SETPIPE_SZ, 1 MiB) returned \(result), errno \(errno)")
        default:
            throw FaultKind.Thrown(description: "\(kind.rawValue) is not an attack")
        }
    }
}
