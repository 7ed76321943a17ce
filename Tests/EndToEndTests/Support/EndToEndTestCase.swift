// Base class: every test gets its own scratch directory and its own targe on a free port.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

class EndToEndTestCase: XCTestCase {
    var targes: [TargeProcess] = []
    private var scratchDirs: [URL] = []

    /// A private scratch directory, removed after a passing test and kept after a failing one.
    func makeScratchDir() throws -> URL {
        let dir = try makeTempDir(prefix: "targe-e2e")
        scratchDirs.append(dir)
        return dir
    }

    /// Writes `config` into a fresh directory and starts `targe serve` on it.
    func startTarge(_ config: ConfigBuilder, expectPortals: Int = 1) throws -> TargeProcess {
        let binary = try Paths.targeBinary()
        let dir = try makeScratchDir()
        let targe = try TargeProcess(binary: binary, config: config.render(dir: dir.path), dir: dir)
        targes.append(targe)
        try targe.start(expectPortals: expectPortals)
        print("[e2e] \(name): targe \(binary) pid \(targe.pid) on \(targe.portal), dir \(dir.path)")
        return targe
    }

    override func tearDownWithError() throws {
        for targe in targes {
            let wasDead = targe.deathNotice
            guard let stop = targe.stop() else { continue }
            if let wasDead {
                XCTFail("\(wasDead) before the end of the test\n\(targe.diagnostics)")
            } else if !stop.clean {
                XCTFail("targe \(stop.summary) on SIGTERM (expected exit 0)\n\(targe.diagnostics)")
            }
        }
        targes = []
        // hasSucceeded is only meaningful once the run has stopped; count failures instead.
        let passed = (testRun?.totalFailureCount ?? 1) == 0
        for dir in scratchDirs {
            if passed {
                try? FileManager.default.removeItem(at: dir)
            } else {
                print("[e2e] \(name): keeping \(dir.path) for inspection")
            }
        }
        scratchDirs = []
        try super.tearDownWithError()
    }

    // MARK: assertions

    /// Fails with the command, its output and targe's stderr unless the tool exited 0.
    func assertSucceeded(_ result: ToolResult, _ what: String, _ targe: TargeProcess?,
                         file: StaticString = #filePath, line: UInt = #line) {
        if !result.succeeded {
            XCTFail("\(what) failed:\n\(result)\n\(targe.map { aliveNote($0) + "\n" + $0.diagnostics } ?? "")",
                    file: file, line: line)
        }
    }

    func aliveNote(_ targe: TargeProcess) -> String {
        targe.deathNotice.map { "!!! \($0)" } ?? "(targe pid \(targe.pid) still running)"
    }

    func assertAlive(_ targe: TargeProcess, _ context: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        if let death = targe.deathNotice {
            XCTFail("\(death) \(context)\n\(targe.diagnostics)", file: file, line: line)
        }
    }
}

/// A LUN (or a byte range of one) as a qemu block-driver option string.
struct QemuLUN {
    var portal: String
    var iqn: String
    var lun = 0
    /// qemu's iscsi `header-digest` option: crc32c, none, crc32c-none, none-crc32c.
    var headerDigest: String?
    var initiatorName = "iqn.2026-11.org.targe.test:e2e-initiator"
    /// A byte range through qemu's raw format driver (offset/size options).
    var offset: Int?
    var size: Int?
    /// CHAP user and secret (qemu's `user` and `password` options).
    var chap: (user: String, secret: String)?

    init(_ targe: TargeProcess, target: String, lun: Int = 0, chap: (user: String, secret: String)? = nil) {
        self.chap = chap
        portal = targe.portal
        iqn = ConfigBuilder.iqn(target)
        self.lun = lun
    }

    var imageOpts: String {
        var iscsi = ["driver=iscsi", "transport=tcp", "portal=\(portal)", "target=\(iqn)", "lun=\(lun)",
                     "initiator-name=\(initiatorName)"]
        if let headerDigest { iscsi.append("header-digest=\(headerDigest)") }
        if let chap { iscsi += ["user=\(chap.user)", "password=\(chap.secret)"] }
        guard offset != nil || size != nil else { return iscsi.joined(separator: ",") }
        var raw = ["driver=raw"]
        if let offset { raw.append("offset=\(offset)") }
        if let size { raw.append("size=\(size)") }
        return (raw + iscsi.map { "file." + $0 }).joined(separator: ",")
    }

    func writeArgs(from source: String) -> [String] {
        ["convert", "-n", "-f", "raw", "--target-image-opts", source, imageOpts]
    }

    func compareArgs(with source: String) -> [String] {
        ["compare", "--image-opts", "driver=file,filename=\(source)", imageOpts]
    }

    func readArgs(into destination: String) -> [String] {
        ["convert", "--image-opts", imageOpts, "-O", "raw", destination]
    }
}

extension EndToEndTestCase {
    /// Writes `size` random bytes to the LUN with qemu-img, compares them with qemu-img and
    /// reads them back into a local file compared byte for byte.
    func qemuRoundTrip(_ targe: TargeProcess, target: String, size: Int, headerDigest: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let qemu = try Tools.qemuImg()
        let dir = try makeScratchDir()
        let src = dir.appendingPathComponent("src.img").path
        let back = dir.appendingPathComponent("readback.img").path
        try writeRandomFile(src, size: size)
        var lun = QemuLUN(targe, target: target)
        lun.headerDigest = headerDigest
        lun.initiatorName = "iqn.2026-11.org.targe.test:e2e-\(target)"

        let write = runTool(qemu, lun.writeArgs(from: src), timeout: 300, abortIf: targe.abortIfDead)
        print("[e2e] write \(size >> 20) MiB: \(write.outcome)")
        assertSucceeded(write, "qemu-img convert (write \(size) bytes to the LUN)", targe, file: file, line: line)
        guard write.succeeded else { return }

        let compare = runTool(qemu, lun.compareArgs(with: src), timeout: 300, abortIf: targe.abortIfDead)
        print("[e2e] compare: \(compare.outcome): \(compare.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        assertSucceeded(compare, "qemu-img compare (source file vs LUN)", targe, file: file, line: line)
        XCTAssertTrue(compare.stdout.contains("Images are identical"),
                      "qemu-img compare did not report identical images:\n\(compare)", file: file, line: line)

        let read = runTool(qemu, lun.readArgs(into: back), timeout: 300, abortIf: targe.abortIfDead)
        print("[e2e] read back: \(read.outcome)")
        assertSucceeded(read, "qemu-img convert (read the LUN back)", targe, file: file, line: line)
        guard read.succeeded else { return }
        if let diff = firstDifference(src, back) {
            XCTFail("data read back differs from data written: \(diff)", file: file, line: line)
        }
        assertAlive(targe, "after the round trip", file: file, line: line)
    }
}
