// The reference host: the CLI, the demo plugins and the fault plugins.
import DemoPlugins
import FaultPlugins
import Logging
import PluginKit
import PluginSupervisor
import SandboxCLI

// First statement: in a worker or the zygote this never returns; in the host it starts the zygote.
let sandbox = Sandbox.bootstrap(sessionPlugins: SessionPluginCatalog(DemoCatalog.sessionPlugins + FaultCatalog.sessionPlugins))
let invocation = SandboxCLI.parse(host: SandboxHost(
    name: "sandboxctl", globalPlugins: { [ThemePlugin(), AuditPlugin()] }, sandbox: sandbox,
    interface: DemoCatalog.interface + FaultCatalog.interface))
// Logging is bootstrapped once, here, as the command asks (`serve --log-format json --log-level debug`).
LoggingSystem.bootstrap(invocation.logOutput.makeHandler)
SandboxCLI.run(invocation)
