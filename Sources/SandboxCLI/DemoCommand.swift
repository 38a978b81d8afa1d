import ArgumentParser
import DemoPlugins
import FaultPlugins
import Foundation
import Logging
import PluginKit
import PluginSandbox
import PluginSupervisor
import PluginWire
import Synchronization

/// `sandboxctl demo`: a supervisor with sessions, events crossing both ways, a crash injected
/// into one session and survived by the rest. Needs no daemon; exits 0 when the story holds.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a self-contained demo: sessions, broadcasts, a crash injected and survived.",
        discussion: "Needs no supervisor; exits 0 when the fault was contained. Example: sandboxctl demo --fault ptraceSupervisor")

    @OptionGroup var output: OutputOptions

    @Option(help: "How many sessions to start.")
    var sessions: Int = 3

    @Option(help: "The fault to inject into the second session (see `sandboxctl faults`).")
    var fault: String = "segfault"

    func validate() throws {
        guard (2...64).contains(sessions) else { throw ValidationError("--sessions must be between 2 and 64") }
        guard FaultPlugin.kinds.contains(fault) else { throw ValidationError("--fault '\(fault)' is not a fault; `sandboxctl faults` lists them") }
    }

    /// What `demo -o json` prints.
    struct Outcome: Encodable {
        var sessions: Int
        var fault: String
        var crash: String?
        var otherSessions: Int
        var healthy: Int
        var contained: Bool
    }

    func run() async throws {
        let narrate = !(output.json || output.quiet)
        let say: @Sendable (String) -> Void = { text in if narrate { printLine(text) } }
        let host = try SandboxHost.shared
        let logger = Logger(label: "demo") { _ in SwiftLogNoOpLogHandler() }
        let story = DemoStory()
        try await Daemon.with(host, logger: logger) { daemon in
            let runtime = daemon.runtime
            runtime.globalBus.on(SessionCrashed.self) { envelope in story.crashed(envelope.payload) }
            runtime.globalBus.on(DocumentOpened.self, priority: .lowest) { envelope in
                let opened = envelope.payload
                say("   ↳ global bus: \(opened.session) opened \(opened.title), numbered #\(opened.auditNumber ?? 0) by the audit plugin")
            }

            say("supervisor pid \(getpid()) · spawner \((try? WorkerSpawner())?.mode.description ?? "unavailable") · global plugins \(runtime.attachedPlugins.map(\.rawValue).sorted())")
            var opened: [PluginSession] = []
            for index in 1...sessions {
                var settings = RuntimeSettings()
                settings.plugins["editor"] = PluginConfig(enabled: true, config: ["title": .string("doc-\(index).md")])
                let started = ContinuousClock.now
                let session = try await runtime.createSession(id: SessionID("doc-\(index)"), settings: settings)
                let summary = daemon.host.summary(of: session.id)
                say("session \(session.id) · pid \(summary?.pid ?? 0) · ready in \(milliseconds(ContinuousClock.now - started)) · plugins \(await session.attachedPlugins.map(\.rawValue).sorted())")
                opened.append(session)
            }
            if let layers = daemon.host.summaries(includingEnded: false).first?.sandboxLayers, !layers.isEmpty {
                say("confinement: \(layers.joined(separator: " · "))")
            }

            say("\n1. session → global: each editor announced its document (above); requests go the other way")
            for session in opened {
                let answer = try await session.request(WordCountRequest(text: "three little words"))
                say("   \(session.id): word count request answered in its worker → \(answer)")
            }

            say("\n2. global → all sessions: the theme service broadcasts ThemeChanged(dark)")
            guard let theme: ThemeService = runtime.globalRegistry.maybeResolve("theme.service") else {
                throw ExitCode.failure
            }
            for (id, delivery) in await theme.setTheme("dark").sorted(by: { $0.key < $1.key }) {
                say("   \(id): \(describe(delivery))")
            }

            let victim = opened[1]
            say("\n3. fault: \(victim.id)'s fault plugin runs `\(fault)`")
            var refused = false
            do {
                _ = try await victim.emit(InjectFault(kind: fault))
                refused = true
                say("   the fault ran and changed nothing the sandbox allows")
            } catch let error as SessionError {
                say("   the emitter got: \(error)")
            } catch {
                refused = true
                say("   refused by the sandbox, the plugin's handler failed: \(error)")
            }
            let crash = refused ? nil : await story.waitForCrash()
            if !refused {
                say("   SessionCrashed on the global bus: \(crash.map { "\($0.sessionID): \($0.cause)" } ?? "none")")
            }

            say("\n4. everyone else keeps working: broadcast ThemeChanged(light)")
            let results = await theme.setTheme("light")
            for (id, delivery) in results.sorted(by: { $0.key < $1.key }) {
                say("   \(id): \(describe(delivery))")
            }
            var healthy = 0
            for session in opened where session.id != victim.id {
                let seen = try await session.request(CurrentThemeRequest())
                say("   \(session.id) reports theme \(seen)")
                if seen == "light" { healthy += 1 }
            }
            let live = runtime.sessions.map(\.id.rawValue)
            say("   live sessions: \(live.joined(separator: ", "))")

            await runtime.dispose()
            let others = sessions - 1
            let contained = refused ? live.contains(victim.id.rawValue) : (crash != nil && !live.contains(victim.id.rawValue))
            let survived = contained && healthy == others && results.filter({ $0.key != victim.id }).count == others
            say(survived ? "\nthe fault was contained: \(healthy) of \(others) other sessions kept every message" : "\nthe story did not hold")
            if output.json {
                try printJSON(Outcome(sessions: sessions, fault: fault, crash: crash.map { "\($0.cause)" }, otherSessions: others,
                                      healthy: healthy, contained: survived))
            }
            if !survived { throw ExitCode.failure }
        }
    }

    private func describe(_ delivery: SessionDelivery<ThemeChanged>) -> String {
        switch delivery {
        case .delivered(let envelope): return "delivered (\(envelope.payload.theme))"
        case .stopped(let envelope): return "stopped (\(envelope.payload.theme))"
        case .failed(let error): return "failed: \(error)"
        }
    }
}

/// What the demo saw on the global bus.
final class DemoStory: Sendable {
    private let crashes = Mutex<[SessionCrashed]>([])

    func crashed(_ event: SessionCrashed) { crashes.withLock { $0.append(event) } }

    func waitForCrash(timeout: Duration = .seconds(5)) async -> SessionCrashed? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let crash = crashes.withLock({ $0.first }) { return crash }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}

/// Prints a line of a story at once.
func say(_ text: String) {
    printLine(text)
}

/// Prints `text` and flushes standard output.
func printLine(_ text: String) {
    print(text)
    fflush(nil)
}

func milliseconds(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    return String(format: "%.2f ms", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
}
