import Foundation
import XCTest

/// A new package written from the README and the Getting Started article alone, depending on this
/// repository by path, builds and runs a global and a session plugin in a sandboxed session with
/// its plugin's log line visible.
///
/// The package is written afresh on every run, by the article's own shell commands and files; its
/// build directory is kept between runs (keyed by this repository's path), so only the first run
/// on a machine builds every dependency. Everything resolves offline from the package cache.
final class NewPackageTests: XCTestCase {
    static let article = "Sources/PluginSupervisor/PluginSupervisor.docc/GettingStarted.md"

    func testNewPackage_writtenFromTheDocs_buildsAndRunsAGlobalAndASessionPluginSandboxedWithItsLogVisible() throws {
        let readme = try ReadmeTests.example()
        let blocks = Documents.codeBlocks(in: try Documents.text(Self.article))
        let setup = try XCTUnwrap(blocks.first { $0.language == "sh" && $0.text.contains("swift package init") }, "no set-up commands")
        let manifest = try XCTUnwrap(blocks.first { $0.language == "swift" && $0.text.hasPrefix("// swift-tools-version") }, "no Package.swift")
        XCTAssertTrue(blocks.contains { $0.language == "swift" && $0.text == readme.code }, "the article's main.swift is not the README's")
        XCTAssertTrue(blocks.contains { $0.language == "text" && $0.text == readme.output }, "the article's output is not the README's")
        XCTAssertLessThan(readme.code.split(separator: "\n", omittingEmptySubsequences: false).count - 1, 40)

        // The article's layout: the new package beside a checkout of PluginSandbox.
        let workspace = FileManager.default.temporaryDirectory
            .appendingPathComponent("pluginsandbox-new-package" + Documents.root.path.replacing("/", with: "-"))
        let checkout = workspace.appendingPathComponent("PluginSandbox")
        let package = workspace.appendingPathComponent("hello-host")
        let scratch = workspace.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: checkout)
        try FileManager.default.createSymbolicLink(at: checkout, withDestinationURL: Documents.root)
        try? FileManager.default.removeItem(at: package)

        let initialized = try ProgramRun.run("/bin/bash", ["-euc", setup.text], in: workspace, limit: .seconds(300))
        XCTAssertEqual(initialized.status, 0, initialized.output)
        try manifest.text.write(to: package.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        try readme.code.write(to: package.appendingPathComponent("Sources/hello-host/main.swift"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: package.appendingPathComponent("Sources/hello-host").path), ["main.swift"])

        let build = try ProgramRun.run("/usr/bin/env", ["swift", "build", "--scratch-path", scratch.path], in: package, limit: .seconds(2400))
        XCTAssertEqual(build.status, 0, build.output)
        guard build.status == 0 else { return }

        let host = try ProgramRun.run(scratch.appendingPathComponent("debug/hello-host").path, in: package, limit: .seconds(60))
        XCTAssertEqual(host.reason, .exit, host.output)
        XCTAssertEqual(host.status, 0, host.output)
        XCTAssertEqual(Documents.quotable(host.output), Documents.masked(readme.output), host.output)
    }
}
