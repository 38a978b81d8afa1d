// The benchmark host: like any PluginSandbox host, it starts the worker bootstrap (and its zygote)
// before anything else, then measures every figure beside its baseline in the same run.
import Dispatch
import Foundation
import PluginKit
import PluginSandbox
import PluginWorker

WorkerMain.preload()
WorkerBootstrap.start { context in
    WorkerMain.run(context, catalog: BenchPlugins.catalog)
}
let options = BenchOptions(arguments: Array(CommandLine.arguments.dropFirst()))
Task {
    do {
        try await Bench(options: options).run()
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("pluginsandbox-bench: \(error)\n".utf8))
        exit(1)
    }
}
dispatchMain()
