// Device combinations end to end: layouts checked byte for byte on the member files, a
// mirror losing a member under I/O, resync when it comes back, and durability after kill -9.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class RAIDTests: EndToEndTestCase {
    private let mib = 1 << 20

    private func member(_ targe: TargeProcess, _ name: String) -> String {
        targe.dir.appendingPathComponent("\(name).img").path
    }

    private func write(_ targe: TargeProcess, lun: Int, from src: String) throws {
        let qemu = try Tools.qemuImg()
        let target = QemuLUN(targe, target: "raid", lun: lun)
        let r = runTool(qemu, target.writeArgs(from: src), timeout: 300, abortIf: targe.abortIfDead)
        assertSucceeded(r, "qemu-img convert to LUN \(lun)", targe)
    }

    private func compare(_ targe: TargeProcess, lun: Int, with src: String, _ what: String) throws {
        let qemu = try Tools.qemuImg()
        let target = QemuLUN(targe, target: "raid", lun: lun)
        let r = runTool(qemu, target.compareArgs(with: src), timeout: 300, abortIf: targe.abortIfDead)
        assertSucceeded(r, "qemu-img compare LUN \(lun) \(what)", targe)
        XCTAssertTrue(r.stdout.contains("Images are identical"), "\(what):\n\(r)")
    }

    private func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func testLayoutsByteForByteOnTheMembers() throws {
        var config = ConfigBuilder()
        for name in ["m1", "m2"] { config.fileDevice(name, size: "32MiB") }
        for name in ["s1", "s2", "s3"] { config.fileDevice(name, size: "16MiB") }
        for name in ["c1", "c2"] { config.fileDevice(name, size: "8MiB") }
        config.raw("[combination mirror]\nraid 1\nmembers m1 m2")
        config.raw("[combination stripe]\nraid 0\nchunk 64KiB\nmembers s1 s2 s3")
        config.raw("[combination concat]\nraid 0\nmembers c1 c2")
        config.raw("[target raid]\nlun 0 mirror\nlun 1 stripe\nlun 2 concat")
        let targe = try startTarge(config)
        let dir = try makeScratchDir()
        let sizes = [0: 32 * mib, 1: 48 * mib, 2: 16 * mib]
        var sources: [Int: String] = [:]
        for (lun, size) in sizes {
            let src = dir.appendingPathComponent("src\(lun).img").path
            try writeRandomFile(src, size: size)
            sources[lun] = src
            try write(targe, lun: lun, from: src)
        }
        guard let stopped = targe.stop() else { return XCTFail("not running") }
        XCTAssertTrue(stopped.clean, stopped.summary)

        let mirrorSource = try bytes(sources[0]!)
        XCTAssertEqual(try bytes(member(targe, "m1")), mirrorSource, "RAID1 member m1 is a plain copy")
        XCTAssertEqual(try bytes(member(targe, "m2")), mirrorSource, "RAID1 member m2 is a plain copy")

        let stripeSource = try bytes(sources[1]!)
        let stripeMembers = try ["s1", "s2", "s3"].map { try bytes(member(targe, $0)) }
        let chunk = 64 << 10
        for k in 0..<(stripeSource.count / chunk) {
            let onMember = stripeMembers[k % 3]
            let at = (k / 3) * chunk
            guard Array(onMember[at..<(at + chunk)]) == Array(stripeSource[(k * chunk)..<((k + 1) * chunk)]) else {
                return XCTFail("stripe chunk \(k) is not on member \(k % 3) at offset \(at)")
            }
        }
        let concatSource = try bytes(sources[2]!)
        XCTAssertEqual(try bytes(member(targe, "c1")), Array(concatSource[0..<(8 * mib)]))
        XCTAssertEqual(try bytes(member(targe, "c2")), Array(concatSource[(8 * mib)...]))
    }

    func testMirrorLosesAMemberUnderIOThenResyncsWhenItReturns() throws {
        var config = ConfigBuilder()
        config.fileDevice("a", size: "64MiB")
        config.fileDevice("b", size: "64MiB")
        config.raw("[combination mirror]\nraid 1\nmembers a b")
        config.raw("[target raid]\nlun 0 mirror")
        let targe = try startTarge(config)
        let src = try makeScratchDir().appendingPathComponent("src.img").path
        try writeRandomFile(src, size: 64 * mib)
        try write(targe, lun: 0, from: src)

        // Member b's backing file vanishes (truncated to nothing) while the LU is in use:
        // reads balanced onto it come back short, it is marked failed, and the initiator
        // keeps getting its data from a.
        XCTAssertEqual(truncate(member(targe, "b"), 0), 0)
        try compare(targe, lun: 0, with: src, "with member b gone")
        try compare(targe, lun: 0, with: src, "again, degraded")
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("member failed"), "the member failure must be logged\n\(targe.diagnostics)")
        XCTAssertTrue(targe.stop()?.clean ?? false)
        XCTAssertEqual(try bytes(member(targe, "a")), try bytes(src), "the surviving member holds the data")

        // The member returns (its backing store is back at full size, with stale contents)
        // and the target restarts: b is stale, resynced in the background from a.
        XCTAssertEqual(truncate(member(targe, "b"), off_t(64 * mib)), 0)
        try targe.start()
        XCTAssertTrue(targe.waitForLog("resync complete"), "no resync after the member returned\n\(targe.diagnostics)")
        try compare(targe, lun: 0, with: src, "after resync")
        XCTAssertTrue(targe.stop()?.clean ?? false)
        XCTAssertEqual(try bytes(member(targe, "b")), try bytes(member(targe, "a")), "members equal after resync")
    }

    func testFlushedWritesSurviveKill9() throws {
        var config = ConfigBuilder()
        config.fileDevice("a", size: "32MiB")
        config.fileDevice("b", size: "32MiB")
        config.raw("[combination mirror]\nraid 1\nmembers a b")
        config.fileDevice("plain", size: "32MiB")
        config.raw("[target raid]\nlun 0 mirror\nlun 1 plain")
        let targe = try startTarge(config)
        let src = try makeScratchDir().appendingPathComponent("src.img").path
        try writeRandomFile(src, size: 32 * mib)
        // qemu-img convert ends with a flush (SYNCHRONIZE CACHE): everything is acknowledged
        // as durable before it exits.
        try write(targe, lun: 0, from: src)
        try write(targe, lun: 1, from: src)
        XCTAssertEqual(kill(targe.pid, SIGKILL), 0)
        _ = targe.stop()
        try targe.start()
        try compare(targe, lun: 0, with: src, "mirror after kill -9 and restart")
        try compare(targe, lun: 1, with: src, "file LUN after kill -9 and restart")
    }
}
