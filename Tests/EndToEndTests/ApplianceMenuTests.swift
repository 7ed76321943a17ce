// The appliance set up the way its user would: over the serial console, with the setup
// menu, on a machine with two blank data disks. The menu builds a RAID1 of the disks and a
// target for it with a CHAP user, saves (the running service reloads the new config), the host
// writes 64 MiB through the forwarded port, the menu reboots the machine, and afterwards
// the config and the data are still there; both disks hold the data as plain copies.
import Foundation
import XCTest

extension ApplianceImageTests {
    func testMenuBuildsMirrorWithCHAPThatSurvivesReboot() throws {
        guard Tools.find("qemu-system-x86_64") != nil else {
            throw XCTSkip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86); skipping the appliance menu test")
        }
        let iscsiInq = try Tools.iscsiInq()
        let qemuImg = try Tools.qemuImg()
        let dir = try makeTempDir(prefix: "targe-appliance-menu")
        keepDir = dir
        let image = try freshImage(in: dir)
        let disk1 = dir.appendingPathComponent("data.img").path   // vdb (image/run.sh's data disk)
        let disk2 = dir.appendingPathComponent("data2.img").path  // vdc
        let diskSize: UInt64 = 256 << 20
        for disk in [disk1, disk2] {
            XCTAssertTrue(FileManager.default.createFile(atPath: disk, contents: nil))
            try FileHandle(forWritingAtPath: disk).map { try $0.truncate(atOffset: diskSize); try $0.close() }
        }

        let machine = try boot(dir: dir, log: "console-menu.log", extraDisks: [disk2], reboots: true, terminal: true)
        guard machine.wait(for: Self.readyLine, count: 1, timeout: Self.bootDeadline) != nil else {
            return XCTFail(machine.failure("no ready line"))
        }
        XCTAssertTrue(machine.console.contains("sharing /dev/vdb"), machine.failure("first boot did not share the data disk"))

        // ---- the menu, as typed on the serial console ----
        machine.type("menu\n")
        let steps: [(prompt: String, answer: String)] = [
            // The first-boot target shares /dev/vdb alone: remove it (its device stays).
            ("Choice:", "4"), ("Choice:", "3"), ("Target to remove", "data"), ("(y/N)", "y"), ("Choice:", "0"),
            // The second disk.
            ("Choice:", "2"), ("Choice:", "1"), ("New device name", "disk2"), ("Path of the disk", "/dev/vdc"),
            ("Offset", ""), ("Size", ""), ("I/O engine", ""), ("Choice:", "0"),
            // RAID1 of the two.
            ("Choice:", "3"), ("Choice:", "1"), ("New combination name", "mirror"), ("RAID level", "1"),
            ("Members in order", "data disk2"), ("Choice:", "0"),
            // A target for it with CHAP user alice.
            ("Choice:", "4"), ("Choice:", "1"), ("New target name", "mirror"), ("IQN (Enter keeps", ""),
            ("for LUN 0", "mirror"), ("Choice:", "7"), ("Choice:", "1"), ("CHAP user name", "alice"),
            ("Secret for alice", Self.secret), ("Choice:", "0"), ("Choice:", "0"), ("Choice:", "0"),
            // Save and apply: the first-boot file has comments, so the menu asks first.
            ("Choice:", "12"), ("Save anyway?", "y"),
        ]
        for step in steps { try machine.answer(step.prompt, step.answer) }
        guard machine.waitForPrompt("Press Enter", timeout: 120) else { return XCTFail(machine.failure("no reply to save and apply")) }
        let reply = machine.sinceInput
        for expected in ["target iqn.2026-11.org.targe.appliance:data removed", "target \(Self.mirrorIQN) added with LUN 0"] {
            XCTAssertTrue(reply.contains(expected), machine.failure("the reload's reply does not say `\(expected)`"))
        }
        machine.type("\n")
        XCTAssertFalse(machine.console.contains(Self.secret), machine.failure("the CHAP secret was echoed on the console"))

        // The menu's Status page: what the running service reports over its control socket.
        try machine.answer("Choice:", "10")
        guard machine.waitForPrompt("Press Enter", timeout: 60) else { return XCTFail(machine.failure("status page")) }
        let status = machine.sinceInput
        for expected in ["mirror", "raid1", "/dev/vdb", "/dev/vdc", "healthy"] {
            XCTAssertTrue(status.contains(expected), machine.failure("no `\(expected)` on the status page"))
        }
        machine.type("\n")

        // ---- the host: CHAP is required, then 64 MiB through the mirror ----
        let portal = "127.0.0.1:\(machine.port)"
        let bare = runTool(iscsiInq, ["iscsi://\(portal)/\(Self.mirrorIQN)/0"], timeout: 120)
        XCTAssertFalse(bare.succeeded, machine.failure("login without CHAP succeeded: \(bare)"))
        let inq = runTool(iscsiInq, ["iscsi://alice%\(Self.secret)@\(portal)/\(Self.mirrorIQN)/0"], timeout: 120)
        XCTAssertTrue(inq.succeeded && inq.stdout.contains("DIRECT_ACCESS"), machine.failure("\(inq)"))

        let size = 64 << 20
        let source = dir.appendingPathComponent("source.bin").path
        try writeRandomFile(source, size: size)
        let lun = "driver=iscsi,transport=tcp,portal=\(portal),target=\(Self.mirrorIQN),lun=0,user=alice,"
            + "password=\(Self.secret),initiator-name=iqn.2026-11.org.targe.test:menu"
        let write = runTool(qemuImg, ["convert", "-n", "-f", "raw", "--target-image-opts", source, lun], timeout: 900)
        XCTAssertTrue(write.succeeded, machine.failure("\(write)"))

        // ---- reboot from the menu's Service page ----
        try machine.answer("Choice:", "11")
        try machine.answer("Choice:", "4")
        try machine.answer("(y/N)", "y")
        guard machine.wait(for: Self.readyLine, count: 2, timeout: Self.bootDeadline) != nil else {
            return XCTFail(machine.failure("no ready line after the reboot"))
        }
        let afterReboot = String(machine.console.components(separatedBy: "Reboot requested.").last ?? "")
        XCTAssertTrue(afterReboot.contains("targe: using /config/targe.conf"), machine.failure("the saved config was not used"))
        XCTAssertFalse(afterReboot.contains("first boot"), machine.failure("a second first boot"))

        let portal2 = "127.0.0.1:\(machine.port)"
        let slice = "driver=raw,offset=0,size=\(size),"
            + lun.replacingOccurrences(of: "portal=\(portal)", with: "portal=\(portal2)")
                .split(separator: ",").map { "file.\($0)" }.joined(separator: ",")
        try readBack(qemuImg, slice: slice, equals: source, into: dir.appendingPathComponent("back.bin").path,
                     machine: machine)

        machine.type("poweroff\n")
        try expectCleanPowerOff(machine)

        // The config as saved on the partition, and both members as plain copies.
        if let debugfs = Tools.find("debugfs") {
            let spec = "\(image)?offset=\(try configPartition(image: image).offset)"
            let saved = runTool(debugfs, ["-R", "cat /targe.conf", spec], timeout: 60).stdout
            for expected in ["[combination mirror]", "members  data disk2", "[target mirror]", "incoming  alice \(Self.secret)"] {
                XCTAssertTrue(saved.contains(expected), "no `\(expected)` in the saved config:\n\(saved)")
            }
            XCTAssertFalse(saved.contains("[target data]"), "the removed target is still there:\n\(saved)")
        }
        for disk in [disk1, disk2] {
            XCTAssertNil(firstDifference(source, disk, limit: size), "\(disk) is not a plain copy of what was written")
        }
    }

    static let secret = "alice-secret-12"
    /// The menu's target (default IQN from the first-boot node base).
    static let mirrorIQN = "iqn.2026-11.org.targe.appliance:mirror"
}
