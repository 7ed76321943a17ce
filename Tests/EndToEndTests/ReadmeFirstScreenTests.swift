// `make serve` and the README's first-screen commands, run exactly as the README writes them
// (127.0.0.1:3260). `make run`'s are run by ApplianceImageTests on the booted image.
import Foundation
import XCTest

final class ReadmeFirstScreenTests: EndToEndTestCase {
    /// What `make serve` runs (Makefile: `$(TARGE) serve --data-dir $(DATA_DIR)`): the
    /// embedded default config, a sparse 1 GiB file LUN on 127.0.0.1:3260.
    func testMakeServeCommandsWorkAsWritten() throws {
        let commands = try ReadmeCommand.firstScreen(for: "make serve")
        XCTAssertTrue(commands.contains { $0.words == ["iscsi-ls", "-s", "iscsi://127.0.0.1:3260"] },
                      "the README's first screen lost its iscsi-ls -s line: \(commands)")
        guard portIsFree(3260) else {
            throw XCTSkip("127.0.0.1:3260 is in use on this machine; the README's commands need that port")
        }
        let dir = try makeScratchDir()
        let targe = TargeProcess(binary: try Paths.targeBinary(),
                                 arguments: ["serve", "--data-dir", dir.appendingPathComponent("data").path], dir: dir)
        targes.append(targe)  // stopped and checked by tearDown
        try targe.start()
        XCTAssertEqual(targe.portal, "127.0.0.1:3260")
        for command in commands {
            let tool = try Tools.require(command.words[0], package: "libiscsi-bin")
            let result = runTool(tool, Array(command.words.dropFirst()), timeout: 60, abortIf: targe.abortIfDead)
            print("[e2e] \(command): \(result.outcome)")
            XCTAssertTrue(result.succeeded, "`\(command)` failed:\n\(result)\n\(targe.diagnostics)")
            if command.words == ["iscsi-ls", "-s", "iscsi://127.0.0.1:3260"] {
                XCTAssertTrue(result.stdout.contains("Portal:127.0.0.1:3260") && result.stdout.contains("Lun:0"),
                              "iscsi-ls -s should list the portal and LUN 0:\n\(result.stdout)")
            }
            if command.words[0] == "iscsi-inq" {
                XCTAssertTrue(result.stdout.contains("DIRECT_ACCESS"), "\(result.stdout)")
            }
        }
    }
}

/// Nothing listens on 127.0.0.1:`port` (a bind would succeed).
func portIsFree(_ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
