import Foundation
import PluginKit
import PluginSandbox
import PluginWire
import Synchronization
import XCTest
@testable import PluginSupervisor

/// The control service's answers, driven in process against real sandboxed sessions.
final class ControlServiceTests: XCTestCase {
    private func ask(_ service: ControlService, _ command: String, _ arguments: [String: JSONValue]) async -> ControlReply? {
        let replies = Mutex<[ControlReply]>([])
        await service.handle(ControlRequest(id: 1, command: command, arguments: .object(arguments))) { reply in
            replies.withLock { $0.append(reply) }
            return true
        }
        return replies.withLock { $0.last }
    }

    private func hooks(_ host: SandboxedSessionHost) -> ControlService.Hooks {
        ControlService.Hooks(
            profile: { try host.profileCatalog.profile(named: $0) },
            spawn: { _ in throw ControlFailure.badArguments("not in this test") },
            applySettings: { _ in .null },
            dispose: { _ in .disposed },
            doctor: { _ in .null })
    }

    func testInspect_whenTheProfilesCgroupLimitsAreNotEngaged_marksThemDegraded() async throws {
        let configuration = try TestSandbox.configuration(spares: 0, { $0.resources = .disabled })
        try await TestSandbox.withRuntime(configuration: configuration) { runtime, host in
            _ = try await runtime.createSession(id: "unlimited")
            let service = ControlService(host: host, hooks: hooks(host))
            let answer = await ask(service, "inspect", ["id": .string("unlimited")])
            let reply = try XCTUnwrap(answer)
            let summary = try XCTUnwrap(reply.result).decode(as: SessionSummary.self)
            XCTAssertNil(summary.resources)
            XCTAssertTrue(summary.sandboxLayers.contains { $0.hasPrefix("cgroup: DEGRADED") }, "\(summary.sandboxLayers)")
        }
    }

    func testForget_refusesALiveSession_andForgetsAnEndedOne() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let session = try await runtime.createSession(id: "gone")
            let service = ControlService(host: host, hooks: hooks(host))
            let live = await ask(service, "forget", ["id": .string("gone")])
            XCTAssertEqual(live?.error?.code, "sessionRunning")
            try await session.dispose()
            XCTAssertNotNil(host.summary(of: "gone"))
            let forgotten = await ask(service, "forget", ["id": .string("gone")])
            XCTAssertNil(forgotten?.error)
            XCTAssertNil(host.summary(of: "gone"))
            XCTAssertFalse(host.summaries().contains { $0.id == "gone" })
        }
    }
}
