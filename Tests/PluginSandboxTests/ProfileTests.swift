import Foundation
import XCTest
@testable import PluginSandbox

/// Profiles load from Sandbox/profiles, and every kind of mistake gets an error naming the key and value.
final class ProfileTests: XCTestCase {
    private func defaultDocument() throws -> [String: Any] {
        let path = try XCTUnwrap(SandboxProfile.searchPath.last) + "/default.json"
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func load(_ document: [String: Any]) throws -> SandboxProfile {
        try SandboxProfile.decode(try JSONSerialization.data(withJSONObject: document))
    }

    private func assertError(_ document: [String: Any], key: String, value: String? = nil, reason: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(document), file: file, line: line) { error in
            guard let error = error as? ProfileError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.key, key, "\(error)", file: file, line: line)
            if let value { XCTAssertEqual(error.value, value, "\(error)", file: file, line: line) }
            XCTAssertTrue(error.reason.contains(reason), "\(error)", file: file, line: line)
        }
    }

    func testShippedProfiles_loadAndValidate() throws {
        for name in ["default", "strict", "debug"] {
            let profile = try SandboxProfile.named(name)
            XCTAssertEqual(profile.name, name)
            XCTAssertFalse(profile.seccomp.groups.isEmpty)
        }
    }

    func testDefaultProfile_deniesEveryForbiddenCallByTrapOrErrno() throws {
        let profile = try SandboxProfile.named("default")
        let allowed = Set(profile.seccomp.groups.flatMap(\.syscalls))
        let forbidden = ["socket", "connect", "execve", "execveat", "ptrace", "mount", "unshare", "setns", "bpf", "io_uring_setup",
                         "userfaultfd", "perf_event_open", "keyctl", "process_vm_readv", "process_vm_writev"]
        for name in forbidden {
            XCTAssertFalse(allowed.contains(name), "\(name) is in an allow group")
            let rules = profile.seccomp.rules.filter { $0.syscall == name }
            XCTAssertFalse(rules.contains { $0.action == "allow" }, "\(name) has an allow rule")
        }
        XCTAssertEqual(profile.seccomp.defaultAction, "trap")
        XCTAssertEqual(profile.seccomp.rules.first { $0.syscall == "clone3" }?.action, "errno:ENOSYS")
        XCTAssertEqual(profile.seccomp.rules.first { $0.syscall == "clone" }?.when?.first?.mask, .name("CLONE_THREAD"))
    }

    func testShippedProfiles_refuseOutOfBandDataPipeGrowthAndSocketOptionsWithAnErrno() throws {
        for name in ["default", "strict", "debug"] {
            let rules = try SandboxProfile.named(name).seccomp.rules
            for (call, argument) in [("sendto", 3), ("recvfrom", 3), ("sendmsg", 2), ("recvmsg", 2)] {
                let refusal = rules.first { $0.syscall == call && $0.action == "errno:EPERM" }
                XCTAssertEqual(refusal?.when, [ArgumentCondition(arg: argument, op: "masked-equals", value: .name("MSG_OOB"), mask: .name("MSG_OOB"))], "\(name) \(call)")
                XCTAssertFalse(rules.contains { $0.syscall == call && $0.action == "allow" && $0.when == nil }, "\(name) \(call) allowed unconditionally")
            }
            XCTAssertTrue(rules.contains { $0.syscall == "fcntl" && $0.action == "errno:EPERM" }, name)
            XCTAssertEqual(rules.first { $0.syscall == "setsockopt" }?.action, "errno:EPERM", name)
            XCTAssertFalse(rules.contains { rule in rule.when?.contains { $0.value == .name("self") } ?? false }, "\(name) binds a rule to a pid")
        }
    }

    func testConditionOnSelf_isRefusedNamingLandlock() throws {
        var document = try defaultDocument()
        var seccomp = try XCTUnwrap(document["seccomp"] as? [String: Any])
        var rules = try XCTUnwrap(seccomp["rules"] as? [[String: Any]])
        rules[0]["when"] = [["arg": 0, "op": "equals", "value": "self"]]
        seccomp["rules"] = rules
        document["seccomp"] = seccomp
        assertError(document, key: "seccomp.rules[0].when[0].value", value: "self", reason: "Landlock")
    }

    func testDebugProfile_logsInsteadOfKilling() throws {
        let profile = try SandboxProfile.named("debug")
        XCTAssertEqual(profile.seccomp.defaultAction, "log")
        XCTAssertFalse(profile.seccomp.rules.contains { $0.action == "trap" })
    }

    func testUnknownSyscall_isNamedWithItsKey() throws {
        var document = try defaultDocument()
        var seccomp = try XCTUnwrap(document["seccomp"] as? [String: Any])
        var groups = try XCTUnwrap(seccomp["groups"] as? [[String: Any]])
        groups[1]["syscalls"] = ["futex", "frobnicate"]
        seccomp["groups"] = groups
        document["seccomp"] = seccomp
        assertError(document, key: "seccomp.groups[1].syscalls[1]", value: "frobnicate", reason: "unknown system call")
    }

    func testUnknownKey_isRejectedNamingWhatIsAllowed() throws {
        var document = try defaultDocument()
        var rlimits = try XCTUnwrap(document["rlimits"] as? [String: Any])
        rlimits["stackBytes"] = 1
        document["rlimits"] = rlimits
        assertError(document, key: "rlimits.stackBytes", reason: "unknown key")
    }

    func testUnknownAction_isNamed() throws {
        var document = try defaultDocument()
        var seccomp = try XCTUnwrap(document["seccomp"] as? [String: Any])
        seccomp["defaultAction"] = "explode"
        document["seccomp"] = seccomp
        assertError(document, key: "seccomp.defaultAction", value: "explode", reason: "unknown action")
    }

    func testUnknownErrnoName_isNamed() throws {
        var document = try defaultDocument()
        var seccomp = try XCTUnwrap(document["seccomp"] as? [String: Any])
        var rules = try XCTUnwrap(seccomp["rules"] as? [[String: Any]])
        rules[1]["action"] = "errno:EWHATEVER"
        seccomp["rules"] = rules
        document["seccomp"] = seccomp
        assertError(document, key: "seccomp.rules[1].action", value: "errno:EWHATEVER", reason: "unknown action")
    }

    func testUnknownConstantInCondition_isNamed() throws {
        var document = try defaultDocument()
        var seccomp = try XCTUnwrap(document["seccomp"] as? [String: Any])
        var rules = try XCTUnwrap(seccomp["rules"] as? [[String: Any]])
        rules[0]["when"] = [["arg": 0, "op": "masked-equals", "mask": "CLONE_EVERYTHING", "value": "CLONE_THREAD"]]
        seccomp["rules"] = rules
        document["seccomp"] = seccomp
        assertError(document, key: "seccomp.rules[0].when[0].mask", value: "CLONE_EVERYTHING", reason: "unknown constant")
    }

    func testArgumentIndexOutOfRange_isNamed() throws {
        var document = try defaultDocument()
        var seccomp = try XCTUnwrap(document["seccomp"] as? [String: Any])
        var rules = try XCTUnwrap(seccomp["rules"] as? [[String: Any]])
        rules[0]["when"] = [["arg": 7, "op": "equals", "value": 1]]
        seccomp["rules"] = rules
        document["seccomp"] = seccomp
        assertError(document, key: "seccomp.rules[0].when[0].arg", value: "7", reason: "0 to 5")
    }

    func testRuleWithoutReason_isRejected() throws {
        var document = try defaultDocument()
        var seccomp = try XCTUnwrap(document["seccomp"] as? [String: Any])
        var rules = try XCTUnwrap(seccomp["rules"] as? [[String: Any]])
        rules[2]["reason"] = " "
        seccomp["rules"] = rules
        document["seccomp"] = seccomp
        assertError(document, key: "seccomp.rules[2].reason", reason: "needs a reason")
    }

    func testZeroLimit_isRejected() throws {
        var document = try defaultDocument()
        var rlimits = try XCTUnwrap(document["rlimits"] as? [String: Any])
        rlimits["openFiles"] = 0
        document["rlimits"] = rlimits
        assertError(document, key: "rlimits.openFiles", value: "0", reason: "must be positive")
    }

    func testUnknownNamespaceAndLayer_areNamed() throws {
        var document = try defaultDocument()
        document["namespaces"] = ["net", "pid"]
        assertError(document, key: "namespaces[1]", value: "pid", reason: "unknown namespace")
        document = try defaultDocument()
        document["allowDegraded"] = ["landlock", "apparmor"]
        assertError(document, key: "allowDegraded[1]", value: "apparmor", reason: "unknown layer")
    }

    func testRelativeLandlockPath_isRejected() throws {
        var document = try defaultDocument()
        document["landlock"] = ["enabled": true, "readOnly": ["usr/share"]]
        assertError(document, key: "landlock.readOnly[0]", value: "usr/share", reason: "absolute path")
    }

    func testHeartbeatTimeoutShorterThanInterval_isRejected() throws {
        var document = try defaultDocument()
        var supervision = try XCTUnwrap(document["supervision"] as? [String: Any])
        supervision["heartbeatTimeoutMilliseconds"] = 100
        document["supervision"] = supervision
        assertError(document, key: "supervision.heartbeatTimeoutMilliseconds", value: "100", reason: "longer than")
    }

    func testMissingAndMistypedFields_areNamed() throws {
        var document = try defaultDocument()
        document["identity"] = nil
        assertError(document, key: "identity", reason: "required")
        document = try defaultDocument()
        document["namespaces"] = "net"
        assertError(document, key: "namespaces", reason: "must be")
    }

    func testMalformedJSON_saysSo() {
        XCTAssertThrowsError(try SandboxProfile.decode(Data(#"{"name": "x", "seccomp": {"#.utf8))) { error in
            XCTAssertTrue("\(error)".contains("not valid JSON"), "\(error)")
        }
    }

    func testUnknownProfileName_listsWhereItLooked() {
        XCTAssertThrowsError(try SandboxProfile.named("no-such-profile")) { error in
            XCTAssertTrue("\(error)".contains("no profile named 'no-such-profile'"), "\(error)")
        }
    }

    func testCatalog_readsTheFileForEverySession_soAnEditAppliesToTheNext() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("profiles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let catalog = ProfileCatalog(directories: [directory], environment: [:], includesSystemDirectory: false)
        var document = try defaultDocument()
        document["name"] = "edited"
        let path = directory + "/edited.json"
        for cpuSeconds in [120, 240, 120] {
            var rlimits = try XCTUnwrap(document["rlimits"] as? [String: Any])
            rlimits["cpuSeconds"] = cpuSeconds
            document["rlimits"] = rlimits
            try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
            XCTAssertEqual(try catalog.profile(named: "edited").rlimits.cpuSeconds, UInt64(cpuSeconds),
                           "a document decoded before is remembered by its bytes, never by its name")
        }
        try Data("{".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try catalog.profile(named: "edited"), "a broken edit is reported, not hidden by the last good one")
    }

    func testShippedProfiles_resources_defaultStrictDebug() throws {
        let standard = try SandboxProfile.named("default")
        XCTAssertEqual(standard.resources, ResourcesSection(memoryBytes: 256 << 20, cpuPercent: 100, cpuPercentOfMachine: 25, cpuWeight: 100,
                                                            cpuBudget: CPUBudget(seconds: 30, windowSeconds: 60), pids: 64))
        XCTAssertEqual(standard.supervision.memoryLimitBytes, 256 << 20, "the RSS fallback defaults to resources.memoryBytes")
        XCTAssertEqual(standard.cgroupLimits, CgroupLimits(memoryBytes: 256 << 20, cpuPercent: 100, cpuPercentOfMachine: 25, cpuWeight: 100, pids: 64))
        let strict = try XCTUnwrap(try SandboxProfile.named("strict").resources)
        let resources = try XCTUnwrap(standard.resources)
        XCTAssertLessThan(try XCTUnwrap(strict.memoryBytes), try XCTUnwrap(resources.memoryBytes))
        XCTAssertLessThan(try XCTUnwrap(strict.cpuPercent), try XCTUnwrap(resources.cpuPercent))
        XCTAssertLessThan(try XCTUnwrap(strict.pids), try XCTUnwrap(resources.pids))
        XCTAssertLessThan(try XCTUnwrap(strict.cpuBudget?.seconds), try XCTUnwrap(resources.cpuBudget?.seconds))
        XCTAssertTrue(try SandboxProfile.named("debug").cgroupLimits.allowDegraded, "debug runs where cgroups cannot be engaged")
    }

    func testResources_badFigures_areNamedWithKeyAndValue() throws {
        let cases: [(String, Any, String, String, String)] = [
            ("memoryBytes", 1000, "resources.memoryBytes", "1000", "at least"),
            ("cpuPercent", 0, "resources.cpuPercent", "0", "1 to 100000"),
            ("cpuWeight", 20_000, "resources.cpuWeight", "20000", "1 to 10000"),
            ("cpuPercentOfMachine", 0, "resources.cpuPercentOfMachine", "0", "1 to 100"),
            ("cpuPercentOfMachine", 101, "resources.cpuPercentOfMachine", "101", "1 to 100"),
            ("pids", 0, "resources.pids", "0", "must be positive"),
            ("pids", 2.5, "resources.pids", "2.5", "whole number"),
            ("cpuBudget", ["seconds": -1, "windowSeconds": 60], "resources.cpuBudget.seconds", "-1.0", "positive number"),
            ("cpuBudget", ["seconds": 1, "windowSeconds": 0], "resources.cpuBudget.windowSeconds", "0.0", "positive number"),
            ("cpuBudget", ["seconds": 90, "windowSeconds": 60], "resources.cpuBudget.seconds", "90.0", "can never be spent"),
            ("swapBytes", 1, "resources.swapBytes", "1", "unknown key"),
        ]
        for (key, value, path, shown, reason) in cases {
            var document = try defaultDocument()
            var resources = try XCTUnwrap(document["resources"] as? [String: Any])
            resources[key] = value
            document["resources"] = resources
            assertError(document, key: path, value: shown, reason: reason)
        }
        var document = try defaultDocument()
        document["resources"] = ["memoryBytes": -5]
        assertError(document, key: "resources.memoryBytes", value: "-5", reason: "whole number")
        document["resources"] = ["cpuBudget": ["seconds": "ten", "windowSeconds": 60]]
        assertError(document, key: "resources.cpuBudget.seconds", value: "ten", reason: "must be a number")
    }

    func testSupervisionMemoryLimitAboveResources_isRejected() throws {
        var document = try defaultDocument()
        var supervision = try XCTUnwrap(document["supervision"] as? [String: Any])
        supervision["memoryLimitBytes"] = 512 << 20
        document["supervision"] = supervision
        assertError(document, key: "supervision.memoryLimitBytes", value: "\(512 << 20)", reason: "must not exceed resources.memoryBytes")
    }

    func testProfileWithoutResources_asksForNoCgroupLimits() throws {
        var document = try defaultDocument()
        document["resources"] = nil
        let profile = try load(document)
        XCTAssertNil(profile.resources)
        XCTAssertNil(profile.supervision.memoryLimitBytes)
        XCTAssertEqual(profile.cgroupLimits, CgroupLimits())
        document["allowDegraded"] = ["cgroup"]
        XCTAssertTrue(try load(document).cgroupLimits.allowDegraded)
    }

    /// The compiled default filter is reviewed like code: a change to it changes this golden file.
    /// Regenerate with `PLUGINSANDBOX_UPDATE_GOLDEN=1 swift test --filter ProfileTests`.
    func testDefaultProfile_compiledFilterMatchesGolden() throws {
        let profile = try SandboxProfile.named("default")
        let dump = try SeccompPolicy(profile.seccomp).dump()
        XCTAssertTrue(dump.contains("\"clone3\""), "the dump names syscalls")
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/default-filter.pfc")
        if ProcessInfo.processInfo.environment["PLUGINSANDBOX_UPDATE_GOLDEN"] == "1" {
            try dump.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        XCTAssertEqual(dump, expected, "the compiled default filter changed; review it and regenerate the golden file")
    }
}
