// `targe reload` under load: only the difference is applied, and the sessions it does not
// concern never notice (issue 13). Real initiators: qemu-img writes through target A for the
// whole reload; raw sessions watch the unit attentions and logout requests; iscsi-ls discovers.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class LiveReloadTests: EndToEndTestCase {
    private static let watcher = "iqn.2026-11.org.targe.test:e2e-reload-watcher"
    private static let writer = "iqn.2026-11.org.targe.test:e2e-reload-writer"

    /// A: a growing file LUN; B: removed by the reload; D: its allow rule narrowed.
    private func config(stage: Int) -> ConfigBuilder {
        var config = ConfigBuilder()
        config.fileDevice("a", size: stage == 0 ? "64MiB" : "96MiB")
        config.ramDevice("b", size: "16MiB")
        config.ramDevice("d", size: "16MiB")
        if stage == 0 {
            config.target("a", luns: ["a"])
            config.target("b", luns: ["b"])
            config.raw("[target d]\nlun 0 d\nallow 127.0.0.0/8")
        } else {
            config.ramDevice("c", size: "8MiB")
            config.ramDevice("n", size: "4MiB")
            config.target("a", luns: ["a", "n"])
            config.raw("[target d]\nlun 0 d\nallow 10.0.0.0/8")
            config.target("c", luns: ["c"])
        }
        return config
    }

    private func reload(_ targe: TargeProcess) throws -> ToolResult {
        runTool(targe.binary, ["reload", "--config", targe.configPath], timeout: 120)
    }

    private func session(_ targe: TargeProcess, target: String, initiator: String) throws -> RawSession {
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: initiator, target: ConfigBuilder.iqn(target), headerDigest: "None")
        try s.clearUnitAttentions()
        return s
    }

    /// The unit attentions a session collects with TEST UNIT READY until GOOD, as ASC/ASCQ.
    private func unitAttentions(_ s: RawSession) throws -> [String] {
        var seen: [String] = []
        for _ in 0..<8 {
            let r = try s.execute([0, 0, 0, 0, 0, 0])
            if r.status == 0 { break }
            guard r.senseKey == 0x06, r.sense.count > 13 else { throw E2EError("TEST UNIT READY: \(r)") }
            seen.append(String(format: "%02X/%02X", r.sense[12], r.sense[13]))
        }
        return seen
    }

    /// Waits for an Asynchronous Message asking for a logout (AsyncEvent 1) on `s`.
    private func awaitLogoutRequest(_ s: RawSession, seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let pdu = try? s.conn.readPDU(headerDigest: false, deadline: deadline) else { return false }
            if pdu.opcode == Opcode.asyncMessage && pdu.bhs[36] == 1 { return true }
        }
        return false
    }

    private func sessionStarts(_ targe: TargeProcess, initiator: String) -> Int {
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.contains("session started") && $0.contains("initiator=\(initiator) ") }.count
    }

    func testReloadUnderLoadChangesOnlyWhatItConcerns() throws {
        let qemu = try Tools.qemuImg()
        let iscsiLs = try Tools.iscsiLs()
        let targe = try startTarge(config(stage: 0))
        let pid = targe.pid
        let watcher = try session(targe, target: "a", initiator: Self.watcher)
        let onB = try session(targe, target: "b", initiator: Self.watcher + "-b")
        let onD = try session(targe, target: "d", initiator: Self.watcher + "-d")
        // State the LU must keep: a persistent reservation key registered (memory only).
        let key: UInt64 = 0x5eed_0000_0000_0013
        let register = try watcher.execute(ReservationCDB.persistentReserveOut(serviceAction: 0x00),
                                           dataOut: ReservationCDB.parameters(key: 0, serviceActionKey: key))
        XCTAssertEqual(register.status, 0, "REGISTER: \(register)")

        // qemu-img writes 24 MiB through A at 6 MiB/s: about 4 s, the reload in the middle.
        let dir = try makeScratchDir()
        let source = dir.appendingPathComponent("source.img").path
        try writeRandomFile(source, size: 24 << 20)
        var lun = QemuLUN(targe, target: "a")
        lun.initiatorName = Self.writer
        let writing = RunningTool(qemu, ["convert", "-n", "-r", "6M", "-f", "raw", "--target-image-opts", source, lun.imageOpts])
        Thread.sleep(forTimeInterval: 1.0)

        try config(stage: 1).render(dir: targe.dir.path).write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let reloaded = try reload(targe)
        print("[e2e] reload: \(reloaded.stdout)")
        XCTAssertEqual(reloaded.status, 0, "targe reload failed:\n\(reloaded)\n\(targe.diagnostics)")
        for expected in ["target \(ConfigBuilder.iqn("c")) added", "target \(ConfigBuilder.iqn("b")) removed",
                         "\(ConfigBuilder.iqn("a")): LUN 1 added", "device a grown from 67108864 to 100663296",
                         "\(ConfigBuilder.iqn("d")): allow rules"] {
            XCTAssertTrue(reloaded.stdout.contains(expected), "the reply does not say '\(expected)':\n\(reloaded.stdout)")
        }

        let written = writing.wait(timeout: 120, abortIf: targe.abortIfDead)
        assertSucceeded(written, "qemu-img convert through target A across the reload", targe)
        XCTAssertGreaterThan(written.seconds, 2, "the write ended before the reload could overlap it")
        XCTAssertEqual(sessionStarts(targe, initiator: Self.writer), 1, "the writer logged in again:\n\(targe.diagnostics)")
        let compared = runTool(qemu, lun.compareArgs(with: source), timeout: 120, abortIf: targe.abortIfDead)
        assertSucceeded(compared, "qemu-img compare after the reload", targe)

        // A's own session: the same one, told about the new LUN and the new capacity.
        let attentions = try unitAttentions(watcher)
        XCTAssertEqual(Set(attentions), ["3F/0E", "2A/09"], "unit attentions on A after the reload: \(attentions)")
        let capacity = try watcher.readCapacity10()
        XCTAssertEqual(capacity.lastLBA, UInt32((96 << 20) / 512 - 1), "A's LUN 0 did not grow")
        let luns = try watcher.execute([0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], expectedIn: 256)
        XCTAssertEqual(luns.status, 0, "REPORT LUNS: \(luns)")
        XCTAssertEqual(luns.data.prefix(4), [0, 0, 0, 16], "REPORT LUNS should list two LUNs: \(luns.data.prefix(24))")
        XCTAssertEqual(sessionStarts(targe, initiator: Self.watcher), 1)
        let keys = try watcher.execute(ReservationCDB.persistentReserveIn(serviceAction: 0x00), expectedIn: 256)
        XCTAssertEqual(keys.data.count, 16, "the registration did not survive the reload: \(keys)")
        if keys.data.count >= 16 { XCTAssertEqual(ReservationCDB.be64(keys.data, at: 8), key) }

        // B (removed) and D (no longer admitted) are asked to log out; C is there to use.
        XCTAssertTrue(awaitLogoutRequest(onB, seconds: 5), "no logout request on removed target B")
        XCTAssertTrue(awaitLogoutRequest(onD, seconds: 5), "no logout request on D after its allow rule narrowed")
        let listed = runTool(iscsiLs, ["iscsi://\(targe.portal)/"], timeout: 30)
        XCTAssertTrue(listed.stdout.contains(ConfigBuilder.iqn("c")), "C not discovered:\n\(listed)")
        XCTAssertFalse(listed.stdout.contains(ConfigBuilder.iqn("b")), "B still discovered:\n\(listed)")
        XCTAssertFalse(listed.stdout.contains(ConfigBuilder.iqn("d")), "D still offered to 127.0.0.1:\n\(listed)")
        try qemuRoundTrip(targe, target: "c", size: 8 << 20)
        XCTAssertEqual(targe.pid, pid)
        assertAlive(targe, "after the reload")
    }

    func testABrokenFileChangesNothingAndAnUnchangedFileTouchesNothing() throws {
        let targe = try startTarge(config(stage: 0))
        let s = try session(targe, target: "a", initiator: Self.watcher)

        var broken = config(stage: 0).render(dir: targe.dir.path)
        broken += "\n[target E]\nlun 0 nosuch\n"
        try broken.write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let brokenLine = broken.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex(of: "lun 0 nosuch")! + 1
        let refused = try reload(targe)
        XCTAssertEqual(refused.status, 1, "a broken file must fail the reload:\n\(refused)")
        XCTAssertTrue(refused.stdout.contains("reload refused: nothing was changed"), refused.stdout)
        XCTAssertTrue(refused.stdout.contains("targe.conf:\(brokenLine): "), "no file:line in:\n\(refused.stdout)")

        try config(stage: 0).render(dir: targe.dir.path).write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let unchanged = try reload(targe)
        XCTAssertEqual(unchanged.status, 0, "\(unchanged)")
        XCTAssertTrue(unchanged.stdout.hasPrefix("reloaded: no changes"), unchanged.stdout)
        XCTAssertEqual(try unitAttentions(s), [], "a reload that changed nothing raised unit attentions")
        XCTAssertNoThrow(try s.ping())
    }

    func testShrinkingAnExportedDeviceIsRefusedWithTheReason() throws {
        let targe = try startTarge(config(stage: 0))
        let text = config(stage: 0).render(dir: targe.dir.path).replacingOccurrences(of: "size    64MiB", with: "size    32MiB")
        try text.write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let refused = try reload(targe)
        XCTAssertEqual(refused.status, 1, "\(refused)")
        XCTAssertTrue(refused.stdout.contains("shrinking would cut off blocks initiators wrote"), refused.stdout)
        let s = try session(targe, target: "a", initiator: Self.watcher)
        XCTAssertEqual(try s.readCapacity10().lastLBA, UInt32((64 << 20) / 512 - 1))
    }

    func testSIGHUPReloads() throws {
        let iscsiLs = try Tools.iscsiLs()
        let targe = try startTarge(config(stage: 0))
        try config(stage: 1).render(dir: targe.dir.path).write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        kill(targe.pid, SIGHUP)
        var listed = runTool(iscsiLs, ["iscsi://\(targe.portal)/"], timeout: 30)
        for _ in 0..<50 where !listed.stdout.contains(ConfigBuilder.iqn("c")) {
            Thread.sleep(forTimeInterval: 0.1)
            listed = runTool(iscsiLs, ["iscsi://\(targe.portal)/"], timeout: 30)
        }

        XCTAssertTrue(listed.stdout.contains(ConfigBuilder.iqn("c")), "SIGHUP did not add C:\n\(listed)\n\(targe.diagnostics)")
        assertAlive(targe, "after SIGHUP")
    }

    /// A portal added by reload is listened on at once; a removed one stops listening and its
    /// connections are asked to log out.
    func testPortalsAddedAndRemoved() throws {
        let iscsiLs = try Tools.iscsiLs()
        let targe = try startTarge(config(stage: 0))
        let first = try session(targe, target: "a", initiator: Self.watcher)

        var both = config(stage: 0)
        both.listen = "127.0.0.1:0 127.0.0.2:0"
        try both.render(dir: targe.dir.path).write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let added = try reload(targe)
        XCTAssertEqual(added.status, 0, "\(added)\n\(targe.diagnostics)")
        guard let range = added.stdout.range(of: #"listening on 127\.0\.0\.2:\d+"#, options: .regularExpression) else {
            return XCTFail("no new portal in the reply:\n\(added.stdout)")
        }
        let newPortal = String(added.stdout[range].dropFirst("listening on ".count))
        let listed = runTool(iscsiLs, ["iscsi://\(newPortal)/"], timeout: 30)
        XCTAssertTrue(listed.stdout.contains(ConfigBuilder.iqn("a")), "nothing answers on \(newPortal):\n\(listed)")

        var second = config(stage: 0)
        second.listen = "127.0.0.2:0"
        try second.render(dir: targe.dir.path).write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let removed = try reload(targe)
        XCTAssertEqual(removed.status, 0, "\(removed)")
        XCTAssertTrue(removed.stdout.contains("stopped listening on 127.0.0.1:0 (1 connection asked to log out)"), removed.stdout)
        XCTAssertTrue(awaitLogoutRequest(first, seconds: 5), "the old portal's session was not asked to log out")
        let gone = runTool(iscsiLs, ["iscsi://\(targe.portal)/"], timeout: 30)
        XCTAssertFalse(gone.succeeded, "the removed portal still answers:\n\(gone)")
        XCTAssertTrue(runTool(iscsiLs, ["iscsi://\(newPortal)/"], timeout: 30).succeeded)
    }

    /// After the privilege drop the target cannot read its own config (root's, mode 0600, in
    /// a directory only root may enter) nor open new devices: both go through the privileged
    /// helper, which opens only that file and the devices it names.
    func testReloadAfterThePrivilegeDrop() throws {
        guard getuid() == 0 else { throw XCTSkip("the privilege drop needs the test to run as root") }
        guard getpwnam("nobody") != nil else { throw XCTSkip("no user 'nobody' on this machine") }
        let iscsiLs = try Tools.iscsiLs()
        var before = config(stage: 0)
        before.user = "nobody"
        let targe = try startTarge(before)
        XCTAssertEqual(chmod(targe.configPath, 0o600), 0)
        var after = before
        after.fileDevice("e", size: "16MiB")
        after.target("e", luns: ["e"])
        // A portal below 1024, which only the helper may bind now.
        after.listen = "127.0.0.1:0 127.0.0.3:860"
        try after.render(dir: targe.dir.path).write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(targe.configPath, 0o600), 0)
        let reloaded = try reload(targe)
        XCTAssertEqual(reloaded.status, 0, "\(reloaded)\n\(targe.diagnostics)")
        XCTAssertTrue(reloaded.stdout.contains("target \(ConfigBuilder.iqn("e")) added"), reloaded.stdout)
        let listed = runTool(iscsiLs, ["-s", "iscsi://\(targe.portal)/"], timeout: 30)
        XCTAssertTrue(listed.stdout.contains(ConfigBuilder.iqn("e")), "\(listed)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: targe.dir.appendingPathComponent("e.img").path),
                      "the helper did not create the new device's file")
        XCTAssertTrue(reloaded.stdout.contains("listening on 127.0.0.3:860"), reloaded.stdout)
        let low = runTool(iscsiLs, ["iscsi://127.0.0.3:860/"], timeout: 30)
        XCTAssertTrue(low.stdout.contains(ConfigBuilder.iqn("e")), "nothing answers on the new low portal:\n\(low)")
    }

    /// A failed RAID1 member replaced by a reload while qemu-img writes through the mirror:
    /// no initiator error, the new member is copied in the background, and afterwards both
    /// members hold what was written.
    func testAFailedMirrorMemberIsReplacedUnderLoad() throws {
        let qemu = try Tools.qemuImg()
        var mirror = ConfigBuilder()
        mirror.fileDevice("m1", size: "32MiB")
        mirror.fileDevice("m2", size: "32MiB")
        mirror.raw("[combination mirror]\nraid 1\nmembers m1 m2")
        mirror.target("r", luns: ["mirror"])
        let targe = try startTarge(mirror)
        let dir = try makeScratchDir()
        let first = dir.appendingPathComponent("first.img").path
        try writeRandomFile(first, size: 32 << 20)
        let lun = QemuLUN(targe, target: "r")
        assertSucceeded(runTool(qemu, lun.writeArgs(from: first), timeout: 120), "the first write", targe)
        // m2 vanishes: reads balanced onto it come back short and it is failed.
        XCTAssertEqual(truncate(targe.dir.appendingPathComponent("m2.img").path, 0), 0)
        var failed = false
        for _ in 0..<4 where !failed {
            assertSucceeded(runTool(qemu, lun.compareArgs(with: first), timeout: 120), "reading degraded", targe)
            failed = ((try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? "").contains("member failed")
        }
        XCTAssertTrue(failed, "m2 did not fail\n\(targe.diagnostics)")

        let second = dir.appendingPathComponent("second.img").path
        try writeRandomFile(second, size: 16 << 20)
        let writing = RunningTool(qemu, ["convert", "-n", "-r", "6M", "-f", "raw", "--target-image-opts", second, lun.imageOpts])
        Thread.sleep(forTimeInterval: 0.7)
        var replaced = mirror
        replaced.fileDevice("m3", size: "32MiB")
        let text = replaced.render(dir: targe.dir.path).replacingOccurrences(of: "members m1 m2", with: "members m1 m3")
        try text.write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let reloaded = try reload(targe)
        XCTAssertEqual(reloaded.status, 0, "\(reloaded)\n\(targe.diagnostics)")
        XCTAssertTrue(reloaded.stdout.contains("combination mirror: m3 replaces failed member m2"), reloaded.stdout)
        let written = writing.wait(timeout: 120, abortIf: targe.abortIfDead)
        assertSucceeded(written, "qemu-img writing through the mirror across the member replacement", targe)

        XCTAssertTrue(targe.waitForLog("resync complete"), "m3 was not resynced\n\(targe.diagnostics)")

        // A third member added by the next reload is copied in full too.
        replaced.fileDevice("m4", size: "32MiB")
        try replaced.render(dir: targe.dir.path).replacingOccurrences(of: "members m1 m2", with: "members m1 m3 m4")
            .write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let grown = try reload(targe)
        XCTAssertTrue(grown.stdout.contains("combination mirror: m4 added; resync started"), "\(grown)")
        XCTAssertTrue(targe.waitForLog("resync complete", count: 2), "m4 was not resynced\n\(targe.diagnostics)")

        // m1 leaves: the mirror goes on with m3 and m4, and m1 gets no further write.
        try replaced.render(dir: targe.dir.path).replacingOccurrences(of: "members m1 m2", with: "members m3 m4")
            .write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let shrunk = try reload(targe)
        XCTAssertTrue(shrunk.stdout.contains("combination mirror: member m1 removed"), "\(shrunk)")
        let m1Before = try Data(contentsOf: targe.dir.appendingPathComponent("m1.img"))
        let third = dir.appendingPathComponent("third.img").path
        try writeRandomFile(third, size: 8 << 20)
        assertSucceeded(runTool(qemu, lun.writeArgs(from: third), timeout: 120), "a write after m1 left", targe)
        XCTAssertTrue(try Data(contentsOf: targe.dir.appendingPathComponent("m1.img")) == m1Before, "m1 was written after its removal")
        XCTAssertTrue(targe.stop()?.clean ?? false)
        let m3 = try Data(contentsOf: targe.dir.appendingPathComponent("m3.img"))
        let m4 = try Data(contentsOf: targe.dir.appendingPathComponent("m4.img"))
        XCTAssertTrue(m3 == m4, "the members differ")
        let expected = try Data(contentsOf: URL(fileURLWithPath: third))
            + Data(contentsOf: URL(fileURLWithPath: second)).dropFirst(8 << 20)
            + Data(contentsOf: URL(fileURLWithPath: first)).dropFirst(16 << 20)
        XCTAssertTrue(m3 == expected, "the mirror does not hold what was written")
    }

    /// `[connection]` changes apply to new sessions; a running session keeps what it negotiated.
    func testConnectionSettingsApplyToNewSessions() throws {
        let targe = try startTarge(config(stage: 0))
        let before = try session(targe, target: "a", initiator: Self.watcher)
        XCTAssertEqual(before.negotiated["MaxBurstLength"], "262144")
        var smaller = config(stage: 0)
        smaller.set("MaxBurstLength", "131072")
        try smaller.render(dir: targe.dir.path).write(toFile: targe.configPath, atomically: true, encoding: .utf8)
        let reloaded = try reload(targe)
        XCTAssertTrue(reloaded.stdout.contains("[connection] changed"), reloaded.stdout)
        let after = try session(targe, target: "a", initiator: Self.watcher + "-new")
        XCTAssertEqual(after.negotiated["MaxBurstLength"], "131072", "a new session did not get the new value")
        XCTAssertNoThrow(try before.ping(), "the running session was disturbed")
        let read = try before.execute([0x28, 0, 0, 0, 0, 0, 0, 0x01, 0, 0], expectedIn: 256 * 512)
        XCTAssertEqual(read.status, 0, "a 128 KiB read on the old session: \(read)")
        XCTAssertEqual(read.data.count, 256 * 512)
    }
}
