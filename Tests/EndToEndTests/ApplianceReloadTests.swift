// "Save and apply" on the appliance's serial menu while a host writes through another
// target: the new target is served at once, and the writer's session is never dropped or
// logged in again (issue 13). The service's pid stays the same.
import Foundation
import XCTest

extension ApplianceImageTests {
    func testSaveAndApplyAddsATargetWhileAnotherKeepsWriting() throws {
        guard Tools.find("qemu-system-x86_64") != nil else {
            throw XCTSkip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86); skipping the appliance reload test")
        }
        let iscsiInq = try Tools.iscsiInq()
        let qemuImg = try Tools.qemuImg()
        let dir = try makeTempDir(prefix: "targe-appliance-reload")
        keepDir = dir
        _ = try freshImage(in: dir)
        let machine = try boot(dir: dir, log: "console-reload.log", terminal: true)
        guard machine.wait(for: Self.readyLine, count: 1, timeout: Self.bootDeadline) != nil else {
            return XCTFail(machine.failure("no ready line"))
        }

        // The host writes 48 MiB through the first-boot target at 3 MiB/s: about 16 s, the
        // whole menu session inside it.
        let portal = "127.0.0.1:\(machine.port)"
        let writer = "iqn.2026-11.org.targe.test:appliance-writer"
        let size = 48 << 20
        let source = dir.appendingPathComponent("source.bin").path
        try writeRandomFile(source, size: size)
        let lun = "driver=iscsi,transport=tcp,portal=\(portal),target=\(Self.iqn),lun=0,initiator-name=\(writer)"
        let writing = RunningTool(qemuImg, ["convert", "-n", "-r", "3M", "-f", "raw", "--target-image-opts", source, lun])
        Thread.sleep(forTimeInterval: 2)

        machine.type("menu\n")
        let steps: [(prompt: String, answer: String)] = [
            ("Choice:", "2"), ("Choice:", "1"), ("New device name", "scratch"), ("Path of the disk", "ram 16MiB"),
            ("Choice:", "0"),
            ("Choice:", "4"), ("Choice:", "1"), ("New target name", "scratch"), ("IQN (Enter keeps", ""),
            ("for LUN 0", "scratch"), ("Choice:", "0"), ("Choice:", "0"),
            ("Choice:", "12"), ("Save anyway?", "y"),
        ]
        for step in steps { try machine.answer(step.prompt, step.answer) }
        guard machine.waitForPrompt("Press Enter", timeout: 120) else { return XCTFail(machine.failure("no reply to save and apply")) }
        let reply = machine.sinceInput
        XCTAssertTrue(reply.contains("applied: target iqn.2026-11.org.targe.appliance:scratch added with LUN 0"),
                      machine.failure("the menu did not show the reload's reply"))
        machine.type("\n")
        try machine.answer("Choice:", "0")

        let written = writing.wait(timeout: 600)
        XCTAssertTrue(written.succeeded, machine.failure("the writer failed across save and apply: \(written)"))
        XCTAssertGreaterThan(written.seconds, 8, "the write ended before the menu saved")
        // One login for the writer (before reading back, which logs in again); the service
        // never restarted.
        let writerLogins = machine.console.split(separator: "\n")
            .filter { $0.contains("session started") && $0.contains("initiator=\(writer) ") }.count
        XCTAssertEqual(writerLogins, 1, machine.failure("the writer logged in \(writerLogins) times "))
        XCTAssertFalse(machine.console.contains("iSCSI service stopped"), machine.failure("the service restarted"))
        XCTAssertNil(machine.wait(for: Self.readyLine, count: 2, timeout: 0.1), machine.failure("a second ready line"))
        let inq = runTool(iscsiInq, ["iscsi://\(portal)/iqn.2026-11.org.targe.appliance:scratch/0"], timeout: 120)
        XCTAssertTrue(inq.succeeded && inq.stdout.contains("DIRECT_ACCESS"), machine.failure("the new target: \(inq)"))
        let slice = "driver=raw,offset=0,size=\(size)," + lun.split(separator: ",").map { "file.\($0)" }.joined(separator: ",")
        try readBack(qemuImg, slice: slice, equals: source, into: dir.appendingPathComponent("back.bin").path, machine: machine)

        machine.type("poweroff\n")
        try expectCleanPowerOff(machine)
    }
}
