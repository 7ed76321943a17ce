// The appliance image booted under qemu: PID 1 brings the machine up, the first boot
// writes a default config sharing the data disk, initiators on the host reach the
// forwarded port, `restart` and `poweroff` on the console work cleanly, and the next boot
// uses the config the first one saved.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class ApplianceImageTests: XCTestCase {
    /// The first-boot default's target (Sources/Appliance/Init/FirstBootConfig.swift).
    static let iqn = "iqn.2026-11.org.targe.appliance:data"
    /// TCG is slow and the machine is shared: generous, but a boot that hangs still fails.
    static let bootDeadline: TimeInterval = 300
    static let readyLine = "targe: ready: "

    var machines: [ApplianceMachine] = []
    var keepDir: URL?

    override func tearDown() {
        for machine in machines { machine.kill() }
        machines = []
        if let keepDir {
            if (testRun?.totalFailureCount ?? 1) == 0 && ProcessInfo.processInfo.environment["TARGE_KEEP_E2E"] == nil {
                try? FileManager.default.removeItem(at: keepDir)
            } else {
                print("[e2e] \(name): keeping \(keepDir.path) for inspection")
            }
        }
        super.tearDown()
    }

    func testBootServeRestartPowerOffAndBootAgain() throws {
        guard Tools.find("qemu-system-x86_64") != nil else {
            throw XCTSkip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86); skipping the appliance boot test")
        }
        let iscsiLs = try Tools.iscsiLs()
        let iscsiInq = try Tools.iscsiInq()
        let qemuImg = try Tools.qemuImg()
        let dir = try makeTempDir(prefix: "targe-appliance")
        keepDir = dir
        let image = try freshImage(in: dir)

        // ---- first boot ----
        // On 3260 when it is free, as `make run` does, so that the README's commands run as written.
        let readmePort = portIsFree(3260)
        let first = try boot(dir: dir, log: "console-1.log", port: readmePort ? 3260 : nil)
        guard let readyAfter = first.wait(for: Self.readyLine, count: 1, timeout: Self.bootDeadline) else {
            return XCTFail(first.failure("no `\(Self.readyLine)` line within \(Int(Self.bootDeadline)) s"))
        }
        print("[e2e] appliance ready \(String(format: "%.1f", readyAfter)) s after qemu started (port \(first.port))")
        let boot1 = first.console
        for expected in ["targe: loaded 11 kernel modules", "virtio_blk", "virtio_net", "mounted at /config",
                         "first boot: wrote a default config to /config/targe.conf sharing /dev/vdb",
                         "network: hostname targe, eth0 10.0.2.15/24 via 10.0.2.2", "dropped privileges",
                         "discovery will report 127.0.0.1:\(first.port)"] {
            XCTAssertTrue(boot1.contains(expected), first.failure("no `\(expected)` on the console"))
        }

        // The host's initiators through the forwarded port. SendTargets reports the forwarded
        // address (not the guest's 10.0.2.15), so iscsi-ls -s can log in to list the LUNs.
        let portal = "127.0.0.1:\(first.port)"
        let ls = runTool(iscsiLs, ["-s", "iscsi://\(portal)"], timeout: 120)
        XCTAssertTrue(ls.succeeded && ls.stdout.contains("Target:\(Self.iqn)") && ls.stdout.contains("Portal:\(portal)")
                      && ls.stdout.contains("Lun:0"), first.failure("\(ls)"))
        if readmePort {
            for command in try ReadmeCommand.firstScreen(for: "make run") {
                let result = runTool(try Tools.require(command.words[0], package: "libiscsi-bin"),
                                     Array(command.words.dropFirst()), timeout: 120)
                print("[e2e] README, make run: \(command): \(result.outcome)")
                XCTAssertTrue(result.succeeded, first.failure("`\(command)` as the README writes it:\n\(result)"))
            }
        } else {
            print("[e2e] 127.0.0.1:3260 is in use here: the README's `make run` commands were not run as written")
        }
        let inq = runTool(iscsiInq, ["iscsi://\(portal)/\(Self.iqn)/0"], timeout: 120)
        XCTAssertTrue(inq.succeeded && inq.stdout.contains("DIRECT_ACCESS"), first.failure("\(inq)"))

        let size = 4 << 20
        let source = dir.appendingPathComponent("source.bin").path
        try writeRandomFile(source, size: size)
        let lun = "driver=iscsi,transport=tcp,portal=\(portal),target=\(Self.iqn),lun=0,"
            + "initiator-name=iqn.2026-11.org.targe.test:appliance"
        let slice = "driver=raw,offset=0,size=\(size)," + lun.split(separator: ",").map { "file.\($0)" }.joined(separator: ",")
        let write = runTool(qemuImg, ["convert", "-n", "-f", "raw", "--target-image-opts", source, lun], timeout: 300)
        XCTAssertTrue(write.succeeded, first.failure("\(write)"))
        try readBack(qemuImg, slice: slice, equals: source, into: dir.appendingPathComponent("back-1.bin").path, machine: first)

        // Restart on request: the service stops cleanly and comes back.
        first.type("restart\n")
        XCTAssertNotNil(first.wait(for: Self.readyLine, count: 2, timeout: 120), first.failure("no second ready line after `restart`"))
        XCTAssertTrue(first.console.contains("targe: iSCSI service stopped (exited with status 0)"), first.failure("restart was not clean"))
        try readBack(qemuImg, slice: slice, equals: source, into: dir.appendingPathComponent("back-2.bin").path, machine: first)

        // Power off from the console: the service logs out and flushes, /config is
        // unmounted, and qemu exits 0 (a PID 1 that exited would panic the kernel instead).
        first.type("status\npoweroff\n")
        try expectCleanPowerOff(first)
        let shown = first.console.split(separator: "\n").filter { $0.hasPrefix("targe: ") || $0.contains("Power down") }
        print("[e2e] appliance console, first boot (PID 1's lines):\n" + shown.joined(separator: "\n"))
        XCTAssertTrue(first.console.contains("targe: service running"), first.failure("no status line"))

        // The config partition on the host: clean, and holding the first-boot config.
        try checkConfigPartition(image: image)

        // ---- second boot: the saved config, the data still there ----
        let second = try boot(dir: dir, log: "console-2.log")
        guard second.wait(for: Self.readyLine, count: 1, timeout: Self.bootDeadline) != nil else {
            return XCTFail(second.failure("second boot: no ready line"))
        }
        XCTAssertTrue(second.console.contains("targe: using /config/targe.conf"), second.failure("the saved config was not used"))
        XCTAssertFalse(second.console.contains("first boot"), second.failure("a second first boot"))
        let slice2 = slice.replacingOccurrences(of: "portal=\(portal)", with: "portal=127.0.0.1:\(second.port)")
        try readBack(qemuImg, slice: slice2, equals: source, into: dir.appendingPathComponent("back-3.bin").path, machine: second)
        second.type("poweroff\n")
        try expectCleanPowerOff(second)
    }

    /// `address dhcp`: PID 1's DHCP client gets qemu's lease, the target serves on it.
    func testDHCPAddress() throws {
        guard Tools.find("qemu-system-x86_64") != nil else {
            throw XCTSkip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86); skipping the appliance boot test")
        }
        let iscsiInq = try Tools.iscsiInq()
        let debugfs = try Tools.require("debugfs", package: "e2fsprogs")
        let dir = try makeTempDir(prefix: "targe-appliance")
        keepDir = dir
        let image = try freshImage(in: dir)
        let config = dir.appendingPathComponent("dhcp.conf").path
        try """
            [appliance]
            hostname  dhcpbox
            address   dhcp

            [server]
            node-base  iqn.2026-11.org.targe.test
            listen     0.0.0.0:3260
            user       targe

            [device scratch]
            ram     16MiB

            [target scratch]
            lun     0 scratch

            """.write(toFile: config, atomically: true, encoding: .utf8)
        let spec = "\(image)?offset=\(try configPartition(image: image).offset)"
        let put = runTool(debugfs, ["-w", "-R", "write \(config) targe.conf", spec], timeout: 60)
        XCTAssertTrue(put.succeeded, "\(put)")

        let machine = try boot(dir: dir, log: "console-dhcp.log")
        guard machine.wait(for: Self.readyLine, count: 1, timeout: Self.bootDeadline) != nil else {
            return XCTFail(machine.failure("no ready line"))
        }
        XCTAssertTrue(machine.console.contains("targe: network: hostname dhcpbox, eth0 10.0.2.15/24 via 10.0.2.2 (DHCP from 10.0.2.2"),
                      machine.failure("no DHCP lease on the console"))
        XCTAssertTrue(machine.console.contains("targe: ready: iSCSI target listening on 10.0.2.15:3260"), machine.failure("ready line"))
        let inq = runTool(iscsiInq, ["iscsi://127.0.0.1:\(machine.port)/iqn.2026-11.org.targe.test:scratch/0"], timeout: 120)
        XCTAssertTrue(inq.succeeded && inq.stdout.contains("DIRECT_ACCESS"), machine.failure("\(inq)"))
        machine.type("poweroff\n")
        try expectCleanPowerOff(machine)
    }

    // MARK: helpers

    /// A private copy of the image with an empty config partition (an image that was
    /// booted already, by `make boot` say, holds a config): a first boot.
    func freshImage(in dir: URL) throws -> String {
        let imageDir = try imageDirectory(scratch: dir)
        let image = dir.appendingPathComponent("targe-appliance.img").path
        let copy = runTool("/bin/cp", ["--sparse=always", imageDir + "/targe-appliance.img", image], timeout: 120)
        guard copy.succeeded else { throw E2EError("cannot copy the image:\n\(copy)") }
        try emptyConfigPartition(image: image)
        return image
    }

    func boot(dir: URL, log: String, extraDisks: [String] = [], reboots: Bool = false,
              terminal: Bool = false, port: UInt16? = nil) throws -> ApplianceMachine {
        let machine = try ApplianceMachine(imageDir: dir, consolePath: dir.appendingPathComponent(log).path,
                                           port: try port ?? freePort(), extraDisks: extraDisks, reboots: reboots,
                                           terminal: terminal)
        machines.append(machine)
        return machine
    }

    func readBack(_ qemuImg: String, slice: String, equals source: String, into path: String,
                          machine: ApplianceMachine, file: StaticString = #filePath, line: UInt = #line) throws {
        let read = runTool(qemuImg, ["convert", "--image-opts", slice, "-O", "raw", path], timeout: 300)
        XCTAssertTrue(read.succeeded, machine.failure("\(read)"), file: file, line: line)
        if read.succeeded {
            XCTAssertNil(firstDifference(source, path), "the LUN did not read back what was written", file: file, line: line)
        }
    }

    func expectCleanPowerOff(_ machine: ApplianceMachine, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let status = machine.waitForExit(timeout: 90) else {
            return XCTFail(machine.failure("qemu still running 90 s after `poweroff`"), file: file, line: line)
        }
        XCTAssertEqual(status, 0, machine.failure("qemu exit status"), file: file, line: line)
        let end = machine.console
        for expected in ["targe: iSCSI service stopped (exited with status 0)", "targe: unmounted /config", "targe: powering off"] {
            XCTAssertTrue(end.contains(expected), machine.failure("no `\(expected)`"), file: file, line: line)
        }
        XCTAssertFalse(end.contains("Kernel panic"), machine.failure("kernel panic"), file: file, line: line)
    }

    /// TARGE_IMAGE_DIR if it holds an image, else image/build.sh into the scratch dir (with
    /// TARGE_BIN when set, so the test does not rebuild the binary).
    func imageDirectory(scratch: URL) throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["TARGE_IMAGE_DIR"], !dir.isEmpty,
           FileManager.default.fileExists(atPath: dir + "/targe-appliance.img") {
            return dir
        }
        let out = scratch.appendingPathComponent("build").path
        var buildEnv = ["TARGE_IMAGE_DIR": out]
        if let bin = env["TARGE_BIN"], !bin.isEmpty { buildEnv["TARGE_BIN"] = bin }
        let build = runTool("/bin/bash", [Paths.packageRoot.appendingPathComponent("image/build.sh").path],
                            timeout: 1800, environment: buildEnv)
        guard build.succeeded else { throw E2EError("image/build.sh failed:\n\(build)") }
        return out
    }

    /// Start and size (bytes) of the targe-config partition, from `sfdisk --dump`.
    func configPartition(image: String) throws -> (offset: Int, size: Int) {
        let sfdisk = try Tools.require("sfdisk", package: "fdisk")
        let table = runTool(sfdisk, ["--dump", image], timeout: 30)
        func field(_ line: Substring, _ name: String) -> Int? {
            for part in line.split(separator: ",") {
                if let r = part.range(of: " \(name)=") ?? part.range(of: ":\(name)=") {
                    return Int(part[r.upperBound...].trimmingCharacters(in: .whitespaces))
                }
            }
            return nil
        }
        guard let line = table.stdout.split(separator: "\n").first(where: { $0.contains("name=\"targe-config\"") }),
              let start = field(line, "start"), let size = field(line, "size") else {
            throw E2EError("no targe-config partition in the image:\n\(table)")
        }
        return (start * 512, size * 512)
    }

    func emptyConfigPartition(image: String) throws {
        let mke2fs = try Tools.require("mke2fs", package: "e2fsprogs")
        let part = try configPartition(image: image)
        let made = runTool(mke2fs, ["-q", "-F", "-t", "ext4", "-L", "targe-config", "-E", "offset=\(part.offset)",
                                    image, "\(part.size / 1024)k"], timeout: 120)
        guard made.succeeded else { throw E2EError("cannot empty the config partition:\n\(made)") }
    }

    func checkConfigPartition(image: String) throws {
        guard let debugfs = Tools.find("debugfs"), let e2fsck = Tools.find("e2fsck") else {
            print("[e2e] debugfs/e2fsck missing: not checking the config partition")
            return
        }
        let spec = "\(image)?offset=\(try configPartition(image: image).offset)"
        let fsck = runTool(e2fsck, ["-fn", spec], timeout: 60)
        XCTAssertTrue(fsck.succeeded, "config partition not clean after power-off:\n\(fsck)")
        let cat = runTool(debugfs, ["-R", "cat /targe.conf", spec], timeout: 60)
        XCTAssertTrue(cat.stdout.contains("[target data]") && cat.stdout.contains("path    /dev/vdb"), "\(cat)")
    }

    func freePort() throws -> UInt16 { try freeLoopbackPort() }
}
