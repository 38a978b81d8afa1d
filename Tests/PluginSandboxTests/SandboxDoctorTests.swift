import XCTest

@testable import PluginSandbox

/// `sandboxctl doctor` tells the truth about the layers a spawn engages on this kernel.
final class SandboxDoctorTests: XCTestCase {
    private func layer(_ report: DoctorReport, _ name: String) throws -> DoctorReport.Layer {
        try XCTUnwrap(report.layers.first { $0.name == name }, "no \(name) line in \(report)")
    }

    func testDefaultProfile_showsTheMinimalRootPrivateProcAndViolationReporting() throws {
        let report = SandboxDoctor.report(profile: try SandboxProfile.named("default"))
        let mount = try layer(report, "mount namespace")
        XCTAssertTrue(mount.profile.contains("/usr/share/zoneinfo"), mount.profile)
        XCTAssertFalse(mount.profile.contains("/proc,"), "procfs is mounted afresh, not bound: \(mount.profile)")
        XCTAssertTrue(try layer(report, "hidepid proc").profile.contains("only the worker itself"))
        XCTAssertTrue(try layer(report, "seccomp notify").profile.contains("reported by name"))
        XCTAssertEqual(try layer(report, "namespaces").profile, "net+ipc+uts+mount")
        // This project's machines run Linux 6.18 as root: every layer can be engaged.
        XCTAssertEqual(report.blocking, [], "\(report)")
        XCTAssertEqual(try layer(report, "signal scoping").supported, ConfinementCalls.landlockABI() >= 6)
    }

    func testProfileWithoutNamespaces_usesNoRoot() throws {
        let report = SandboxDoctor.report(profile: SandboxProfile(name: "bare"))
        XCTAssertEqual(try layer(report, "mount namespace").profile, "not used")
        XCTAssertEqual(try layer(report, "hidepid proc").profile, "not used")
        XCTAssertEqual(try layer(report, "seccomp notify").profile, "not used")
    }
}
