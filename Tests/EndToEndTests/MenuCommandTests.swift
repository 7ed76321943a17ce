// `targe menu --config FILE` on stdin/stdout: a config made through the setup menu, then
// served by `targe serve` and seen by a real initiator.
import Foundation
import XCTest

final class MenuCommandTests: EndToEndTestCase {
    /// Runs the menu on `answers` (one per line) and returns its result.
    private func menu(config path: String, answers: [String], in dir: URL) throws -> ToolResult {
        let binary = try Paths.targeBinary()
        let script = dir.appendingPathComponent("answers.txt").path
        try (answers.joined(separator: "\n") + "\n").write(toFile: script, atomically: true, encoding: .utf8)
        return runTool("/bin/sh", ["-c", "exec \"$0\" menu --config \"$1\" < \"$2\"", binary, path, script], timeout: 60)
    }

    func testMenuBuiltMirrorIsServedAndDiscovered() throws {
        let ls = try Tools.iscsiLs()
        let dir = try makeScratchDir()
        let path = dir.appendingPathComponent("menu.conf").path
        let result = try menu(config: path, answers: [
            "9", "1", ConfigBuilder.nodeBase, "2", "127.0.0.1:0", "0",
            "2", "1", "d1", "ram 16MiB", "1", "d2", "ram 16MiB", "0",
            "3", "1", "mirror", "1", "d1 d2", "0",
            "4", "1", "disk", "", "mirror", "0", "0",
            "12", "", "0",
        ], in: dir)
        XCTAssertTrue(result.succeeded, "targe menu failed:\n\(result)")
        XCTAssertTrue(result.stdout.contains("Saved \(path)."), "no save reported:\n\(result.stdout.suffix(2000))")
        XCTAssertTrue(result.stdout.contains("Not applied now: the iSCSI service did not answer"),
                      "with no target running the menu says the file was not applied:\n\(result.stdout.suffix(2000))")

        let saved = try String(contentsOfFile: path, encoding: .utf8)
        let targe = try TargeProcess(binary: try Paths.targeBinary(), config: saved, dir: dir)
        try targe.start()
        defer { _ = targe.stop() }
        let listing = runTool(ls, ["-s", "iscsi://\(targe.portal)"], timeout: 60, abortIf: targe.abortIfDead)
        XCTAssertTrue(listing.succeeded, "iscsi-ls failed:\n\(listing)\n\(targe.diagnostics)")
        XCTAssertTrue(listing.stdout.contains(ConfigBuilder.iqn("disk")), "target not listed:\n\(listing)")
        XCTAssertTrue(listing.stdout.contains("Lun:0"), "LUN 0 not listed:\n\(listing)")

        // The menu again, on the file the target runs: "Save and apply" reloads it live.
        let pid = targe.pid
        let again = try menu(config: targe.configPath, answers: [
            "2", "1", "d3", "ram 8MiB", "0",
            "4", "1", "disk2", "", "d3", "0", "0",
            "12", "", "0",
        ], in: dir)
        XCTAssertTrue(again.succeeded, "targe menu failed:\n\(again)")
        XCTAssertTrue(again.stdout.contains("applied: target \(ConfigBuilder.iqn("disk2")) added with LUN 0"),
                      "the menu did not show the reload:\n\(again.stdout.suffix(2000))\n\(targe.diagnostics)")
        let relisted = runTool(ls, ["iscsi://\(targe.portal)"], timeout: 60, abortIf: targe.abortIfDead)
        XCTAssertTrue(relisted.stdout.contains(ConfigBuilder.iqn("disk2")), "new target not listed:\n\(relisted)")
        XCTAssertEqual(targe.pid, pid, "the target restarted")
    }

    /// End of input leaves a missing file missing and exits 0.
    func testMenuAtEndOfInputWritesNothing() throws {
        let dir = try makeScratchDir()
        let path = dir.appendingPathComponent("none.conf").path
        let result = try menu(config: path, answers: ["2", "1", "d1", "ram 16MiB"], in: dir)
        XCTAssertTrue(result.succeeded, "\(result)")
        XCTAssertTrue(result.stdout.contains("End of input: leaving the menu without saving."), "\(result)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
