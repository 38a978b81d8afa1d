// The reference host: the CLI, the demo plugins and the fault plugins.
import DemoPlugins
import FaultPlugins
import PluginKit
import PluginSupervisor
import SandboxCLI

// First statement: in a worker or the zygote this never returns; in the host it starts the zygote.
let sandbox = Sandbox.bootstrap(sessionPlugins: SessionPluginCatalog(DemoCatalog.sessionPlugins + FaultCatalog.sessionPlugins))
SandboxCLI.run(host: SandboxHost(name: "sandboxctl", globalPlugins: { [ThemePlugin(), AuditPlugin()] }, sandbox: sandbox))
