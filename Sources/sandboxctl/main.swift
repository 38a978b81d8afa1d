// The reference host: the CLI, the demo plugins and the fault plugins.
import DemoPlugins
import FaultPlugins
import PluginKit
import PluginSandbox
import PluginWorker
import SandboxCLI

let host = SandboxHost(
    name: "sandboxctl",
    globalPlugins: { [ThemePlugin(), AuditPlugin()] },
    sessionPlugins: SessionPluginCatalog(DemoCatalog.sessionPlugins + FaultCatalog.sessionPlugins),
    profile: { name in try SandboxProfile.named(name ?? "default") })

// First statement that matters: a worker is confined here and never returns; the host forks its
// zygote while still single-threaded.
WorkerMain.preload()
WorkerBootstrap.start { context in
    WorkerMain.run(context, catalog: host.sessionPlugins)
}
SandboxCLI.run(host: host)
