// bootstrap-missing: a host that forgot `WorkerBootstrap.start`. Its tests show what that costs:
// creating a spawner fails at once, naming the call; started as a marked worker or zygote (as its
// spawner would have started it), it cannot exec anything and the startup guard kills it.
//
// Usage: bootstrap-missing                 prints {"spawner": "..."} and exits 3 when the spawner is refused
//        bootstrap-missing MARKER PID ...  as a marked process: tries to exec and to spawn, prints what
//                                          happened, then waits for the guard
import Foundation
import PluginSandbox

var report: [String: String] = [:]
do {
    _ = try WorkerSpawner()
    report["spawner"] = "created"
} catch {
    report["spawner"] = "\(error)"
}
if CommandLine.arguments.count > 1 {
    // What a careless host would do next: run itself again.
    var pid: pid_t = 0
    let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/proc/self/exe"), nil]
    let status = posix_spawn(&pid, "/proc/self/exe", nil, nil, arguments, environ)
    report["posixSpawn"] = status == 0 ? "spawned \(pid)" : "errno \(status)"
    execv("/bin/true", arguments)
    report["exec"] = "errno \(errno)"
}
let data = (try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])) ?? Data()
print(String(decoding: data, as: UTF8.self))
fflush(nil)
if CommandLine.arguments.count > 1 {
    while true { pause() }
}
exit(report["spawner"] == "created" ? 0 : 3)
