// Real block devices: loop devices made with losetup inside the test (root only), served
// with the default engine for block devices (libaio, O_DIRECT), alone and as a RAID1 whose
// member fails under load (its loop device shrinks to nothing: the kernel refuses the I/O),
// and `targe status` reading the health of it all from the running target.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class LoopDeviceTests: EndToEndTestCase {
    private let mib = 1 << 20
    private var loops: [String] = []

    override func tearDownWithError() throws {
        try super.tearDownWithError()  // stops the targets first: they hold the devices open
        for loop in loops { _ = runTool("/usr/sbin/losetup", ["-d", loop], timeout: 30) }
        loops = []
    }

    /// A loop device over a new sparse file of `size` bytes.
    private func loopDevice(backing path: String, size: Int) throws -> String {
        guard getuid() == 0 else { throw XCTSkip("loop devices need root (CI runs as root)") }
        let losetup = try Tools.require("losetup", package: "mount")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        XCTAssertEqual(truncate(path, off_t(size)), 0)
        let made = runTool(losetup, ["--find", "--show", path], timeout: 30)
        guard made.succeeded, let device = made.stdout.split(separator: "\n").first.map(String.init),
              device.hasPrefix("/dev/loop") else {
            throw XCTSkip("losetup cannot make a loop device here: \(made)")
        }
        loops.append(device)
        return device
    }

    /// The kernel's view of the device follows its backing file's size (`losetup -c`).
    private func resize(_ device: String, backing path: String, to size: Int) throws {
        XCTAssertEqual(truncate(path, off_t(size)), 0)
        let r = runTool(try Tools.require("losetup", package: "mount"), ["-c", device], timeout: 30)
        XCTAssertTrue(r.succeeded, "losetup -c \(device): \(r)")
    }

    private func status(_ targe: TargeProcess) -> String {
        let r = runTool(targe.binary, ["status", "--config", targe.configPath], timeout: 30)
        XCTAssertTrue(r.succeeded, "targe status: \(r)")
        return r.stdout
    }

    private func line(_ text: String, containing needle: String) -> String {
        text.split(separator: "\n").first { $0.contains(needle) }.map(String.init) ?? ""
    }

    /// The default engine for a block device is aio: 64 MiB through qemu-img, compared
    /// through iSCSI and on the loop device's backing file.
    func testLoopDeviceServedWithAIO() throws {
        let dir = try makeScratchDir()
        let backing = dir.appendingPathComponent("loop.img").path
        let device = try loopDevice(backing: backing, size: 64 * mib)
        var config = ConfigBuilder()
        config.raw("[device disk]\npath \(device)")
        config.target("loop", luns: ["disk"])
        let targe = try startTarge(config)
        XCTAssertTrue(line(status(targe), containing: "disk:").contains("aio, 64 MiB, \(device)"),
                      "status: \(status(targe))")

        let src = dir.appendingPathComponent("src.img").path
        try writeRandomFile(src, size: 64 * mib)
        let qemu = try Tools.qemuImg()
        let lun = QemuLUN(targe, target: "loop")
        assertSucceeded(runTool(qemu, lun.writeArgs(from: src), timeout: 300, abortIf: targe.abortIfDead), "write", targe)
        let compared = runTool(qemu, lun.compareArgs(with: src), timeout: 300, abortIf: targe.abortIfDead)
        XCTAssertTrue(compared.succeeded && compared.stdout.contains("Images are identical"), "\(compared)")
        XCTAssertTrue(targe.stop()?.clean ?? false)
        XCTAssertNil(firstDifference(src, backing), "the loop device's backing file holds what was written")
    }

    /// A RAID1 of two loop devices; member b's device shrinks to nothing while 256 MiB are
    /// written: no initiator error, the data on a, b FAILED in `targe status`. Then b
    /// comes back (stale), the target restarts, resyncs, and the members compare equal.
    func testMirrorOfLoopDevicesLosesAMemberUnderLoadThenResyncs() throws {
        let dir = try makeScratchDir()
        let size = 256 * mib
        let backingA = dir.appendingPathComponent("a.img").path
        let backingB = dir.appendingPathComponent("b.img").path
        let a = try loopDevice(backing: backingA, size: size)
        let b = try loopDevice(backing: backingB, size: size)
        var config = ConfigBuilder()
        config.raw("[device a]\npath \(a)")
        config.raw("[device b]\npath \(b)")
        config.raw("[combination mirror]\nraid 1\nmembers a b")
        config.target("raid", luns: ["mirror"])
        let targe = try startTarge(config)
        // Two blank members: equal already, but a new mirror copies a onto b first; wait for
        // it so that the failure below is the only thing degrading the mirror.
        XCTAssertTrue(waitForStatus(targe, timeout: 120) { $0.contains("health: ok") }, status(targe))

        // A session held open, to be listed by status.
        let raw = try RawSession(host: targe.host, port: targe.port)
        try raw.login(initiator: "iqn.2026-11.org.targe.test:watcher", target: ConfigBuilder.iqn("raid"),
                      headerDigest: "None")
        let withSession = status(targe)
        XCTAssertTrue(withSession.contains("iqn.2026-11.org.targe.test:watcher from 127.0.0.1:"), withSession)
        XCTAssertTrue(withSession.contains("-> \(ConfigBuilder.iqn("raid"))"), withSession)

        let src = dir.appendingPathComponent("src.img").path
        try writeRandomFile(src, size: size)
        let qemu = try Tools.qemuImg()
        let lun = QemuLUN(targe, target: "raid")
        let writing = RunningTool(qemu, lun.writeArgs(from: src))
        usleep(300_000)
        try resize(b, backing: backingB, to: 0)
        let failedWhileWriting = status(targe)
        let written = writing.wait(timeout: 600, abortIf: targe.abortIfDead)
        assertSucceeded(written, "qemu-img write while member b failed", targe)
        let compared = runTool(qemu, lun.compareArgs(with: src), timeout: 600, abortIf: targe.abortIfDead)
        XCTAssertTrue(compared.succeeded && compared.stdout.contains("Images are identical"), "degraded: \(compared)")

        print("[e2e] status right after the fault, write still running: \(line(failedWhileWriting, containing: " b: "))")
        let degraded = status(targe)
        XCTAssertTrue(degraded.contains("health: DEGRADED (b)"), degraded)
        XCTAssertTrue(line(degraded, containing: " b: ").contains("[FAILED"), degraded)
        XCTAssertTrue(line(degraded, containing: " a: ").contains("aio, 256 MiB, \(a) [healthy]"), degraded)
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("member failed"), "the member failure must be logged\n\(targe.diagnostics)")
        raw.conn.close()
        XCTAssertTrue(targe.stop()?.clean ?? false)
        XCTAssertNil(firstDifference(src, backingA), "the surviving member holds the data")

        // b returns, full size and stale (zeros); after a restart it is resynced from a.
        try resize(b, backing: backingB, to: size)
        try targe.start()
        XCTAssertTrue(waitForStatus(targe, timeout: 300) { $0.contains("health: ok") },
                      "no resync: \(status(targe))\n\(targe.diagnostics)")
        let healed = status(targe)
        XCTAssertTrue(line(healed, containing: " b: ").contains("[healthy]"), healed)
        let again = runTool(qemu, QemuLUN(targe, target: "raid").compareArgs(with: src), timeout: 600, abortIf: targe.abortIfDead)
        XCTAssertTrue(again.succeeded && again.stdout.contains("Images are identical"), "after resync: \(again)")
        XCTAssertTrue(targe.stop()?.clean ?? false)
        XCTAssertNil(firstDifference(backingA, backingB), "the members are equal after the resync")
    }

    private func waitForStatus(_ targe: TargeProcess, timeout: TimeInterval, _ done: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = runTool(targe.binary, ["status", "--config", targe.configPath], timeout: 30)
            if r.succeeded && done(r.stdout) { return true }
            usleep(250_000)
        }
        return false
    }
}
