// spawn-probe: a host whose main starts the worker bootstrap first, so tests and benchmarks can drive
// real zygote and exec workers from a single-threaded-at-start process (XCTest cannot host a zygote).
//
// Usage: spawn-probe <command> [arguments]   (prints one JSON object per line on stdout)
import PluginSandbox
#if canImport(Glibc)
import Glibc
#endif

WorkerBootstrap.start { context in
    ProbeWorker.run(context)
}

let status = ProbeCommand.run(Array(CommandLine.arguments.dropFirst()))
exit(status)
