// The benchmark host: like any PluginSandbox host, it bootstraps the sandbox (starting the
// zygote) before anything else, then measures every figure beside its baseline in the same run.
import Dispatch
import Foundation
import PluginSupervisor

let sandbox = Sandbox.bootstrap(sessionPlugins: BenchPlugins.catalog)
let options = BenchOptions(arguments: Array(CommandLine.arguments.dropFirst()))
Task {
    do {
        try await Bench(options: options, sandbox: sandbox).run()
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("pluginsandbox-bench: \(error)\n".utf8))
        exit(1)
    }
}
dispatchMain()
