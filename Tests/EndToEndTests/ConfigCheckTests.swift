// `targe check --config FILE`: `config ok` and exit 0, or `file:line: message` and exit 1.
import Foundation
import XCTest

final class ConfigCheckTests: EndToEndTestCase {
    private func check(_ text: String) throws -> (result: ToolResult, path: String) {
        let binary = try Paths.targeBinary()
        let dir = try makeScratchDir()
        let path = dir.appendingPathComponent("check.conf").path
        try text.replacingOccurrences(of: "@DIR@", with: dir.path).write(toFile: path, atomically: true, encoding: .utf8)
        return (runTool(binary, ["check", "--config", path], timeout: 60), path)
    }

    /// (line number, message) of every `FILE:LINE: message` line on stderr naming this file.
    private func located(_ stderr: String, path: String) -> [(line: Int, message: String)] {
        let name = (path as NSString).lastPathComponent
        var out: [(Int, String)] = []
        for line in stderr.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].hasSuffix(name), let n = Int(parts[1]) else { continue }
            out.append((n, parts[2].trimmingCharacters(in: .whitespaces)))
        }
        return out
    }

    func testCheckAcceptsValidConfig() throws {
        var config = ConfigBuilder()
        config.fileDevice("disk0", size: "64MiB")
        config.ramDevice("ram0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        config.target("ram", luns: ["ram0"])
        let dir = try makeScratchDir()
        let (result, path) = try check(config.render(dir: dir.path))
        print("[e2e] targe check (valid): \(result.outcome); stdout: \(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        XCTAssertTrue(result.succeeded, "targe check rejected a valid config \(path):\n\(result)")
        XCTAssertTrue(result.stdout.contains("config ok"), "expected `config ok` on stdout:\n\(result)")
    }

    /// Each broken config has its fault on a known line (1-based); `targe check` must exit 1
    /// and print `FILE:LINE: message` pointing at it.
    func testCheckRejectsBrokenConfigsWithLineNumbers() throws {
        let cases: [(what: String, lines: Set<Int>, text: String)] = [
            ("unparsable size", [6], """
                [server]
                node-base  iqn.2026-11.org.targe.test
                listen     127.0.0.1:0
                [device disk0]
                path    @DIR@/disk0.img
                size    sixty-four
                create  yes
                [target disk]
                lun 0 disk0
                """),
            ("LUN naming an undefined device", [9], """
                [server]
                node-base  iqn.2026-11.org.targe.test
                listen     127.0.0.1:0
                [device disk0]
                path    @DIR@/disk0.img
                size    64MiB
                create  yes
                [target disk]
                lun 0 nosuchdevice
                """),
            ("unknown section kind", [4], """
                [server]
                node-base  iqn.2026-11.org.targe.test
                listen     127.0.0.1:0
                [frobnicator x]
                [device ram0]
                ram 16MiB
                [target ram]
                lun 0 ram0
                """),
            ("FirstBurstLength above MaxBurstLength", [5, 6], """
                [server]
                node-base  iqn.2026-11.org.targe.test
                listen     127.0.0.1:0
                [connection]
                MaxBurstLength    8192
                FirstBurstLength  65536
                [device ram0]
                ram 16MiB
                [target ram]
                lun 0 ram0
                """),
        ]
        for c in cases {
            let (result, path) = try check(c.text)
            let errors = located(result.stderr, path: path)
            print("[e2e] targe check (\(c.what)): \(result.outcome); located errors: \(errors.map { "\($0.line): \($0.message)" })")
            XCTAssertEqual(result.status, 1, "\(c.what): expected exit 1:\n\(result)")
            XCTAssertFalse(result.killedBySignal || result.timedOut, "\(c.what):\n\(result)")
            XCTAssertFalse(result.stdout.contains("config ok"), "\(c.what): said `config ok`:\n\(result)")
            XCTAssertFalse(errors.isEmpty, "\(c.what): no `FILE:LINE: message` line naming \(path) on stderr:\n\(result)")
            XCTAssertTrue(errors.contains { c.lines.contains($0.line) },
                          "\(c.what): expected an error at line \(c.lines.sorted()) of:\n\(numbered(c.text))\n\(result)")
        }
    }

    private func numbered(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { "\($0.offset + 1)\t\($0.element)" }.joined(separator: "\n")
    }
}
