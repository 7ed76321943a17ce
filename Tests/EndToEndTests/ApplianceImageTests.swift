// The appliance image booted under qemu: PID 1 brings the machine up, the first boot
// writes a default config sharing the data disk, initiators on the host reach the
// forwarded port, and `poweroff` on the console stops everything cleanly.
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

    private var qemu: Process?
    private var keepDir: URL?

    override func tearDown() {
        if let qemu, qemu.isRunning {
            signalChild(qemu.processIdentifier, SIGKILL)
            qemu.waitUntilExit()
        }
        if let keepDir {
            if (testRun?.totalFailureCount ?? 1) == 0 {
                try? FileManager.default.removeItem(at: keepDir)
            } else {
                print("[e2e] \(name): keeping \(keepDir.path) for inspection")
            }
        }
        super.tearDown()
    }

    func testBootServeAndPowerOff() throws {
        guard Tools.find("qemu-system-x86_64") != nil else {
            throw XCTSkip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86); skipping the appliance boot test")
        }
        let iscsiLs = try Tools.iscsiLs()
        let iscsiInq = try Tools.iscsiInq()
        let qemuImg = try Tools.qemuImg()
        let dir = try makeTempDir(prefix: "targe-appliance")
        keepDir = dir

        // A private copy of the image, so the config partition starts empty (first boot).
        let imageDir = try imageDirectory(scratch: dir)
        let image = dir.appendingPathComponent("targe-appliance.img").path
        let copy = runTool("/bin/cp", ["--sparse=always", imageDir + "/targe-appliance.img", image], timeout: 120)
        XCTAssertTrue(copy.succeeded, "\(copy)")
        guard copy.succeeded else { return }

        let port = try freePort()
        let consolePath = dir.appendingPathComponent("console.log").path
        _ = FileManager.default.createFile(atPath: consolePath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Paths.packageRoot.appendingPathComponent("image/run.sh").path]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "TARGE_IMAGE_DIR": dir.path, "PORT": "\(port)", "QEMU_EXTRA": "-no-reboot",
        ]) { _, new in new }
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle(forWritingAtPath: consolePath)
        process.standardError = FileHandle(forWritingAtPath: consolePath)
        let started = Date()
        try process.run()
        qemu = process
        func console() -> String {
            ((try? String(contentsOfFile: consolePath, encoding: .utf8)) ?? "").replacingOccurrences(of: "\r", with: "")
        }
        func consoleTail() -> String { "--- console (\(consolePath)) ---\n\(tail(console(), lines: 60))\n--- end ---" }

        // Boot to the ready line.
        var readyAfter: Double?
        while Date().timeIntervalSince(started) < Self.bootDeadline {
            if console().contains("targe: ready: ") {
                readyAfter = Date().timeIntervalSince(started)
                break
            }
            if !process.isRunning { break }
            usleep(200_000)
        }
        guard let readyAfter else {
            XCTFail(process.isRunning
                ? "no `targe: ready:` line within \(Int(Self.bootDeadline)) s\n\(consoleTail())"
                : "qemu exited (status \(process.terminationStatus)) before the ready line\n\(consoleTail())")
            return
        }
        print("[e2e] appliance ready \(String(format: "%.1f", readyAfter)) s after qemu started (port \(port))")
        let boot = console()
        XCTAssertTrue(boot.contains("targe: loaded 9 kernel modules"), consoleTail())
        XCTAssertTrue(boot.contains("mounted at /config"), consoleTail())
        XCTAssertTrue(boot.contains("first boot: wrote a default config to /config/targe.conf sharing /dev/vdb"), consoleTail())
        XCTAssertTrue(boot.contains("network: hostname targe, eth0 10.0.2.15/24 via 10.0.2.2"), consoleTail())
        XCTAssertTrue(boot.contains("dropped privileges"), consoleTail())

        // The host's initiators through the forwarded port.
        let portal = "127.0.0.1:\(port)"
        let ls = runTool(iscsiLs, ["iscsi://\(portal)"], timeout: 120)
        XCTAssertTrue(ls.succeeded && ls.stdout.contains("Target:\(Self.iqn)"), "\(ls)\n\(consoleTail())")
        let inq = runTool(iscsiInq, ["iscsi://\(portal)/\(Self.iqn)/0"], timeout: 120)
        XCTAssertTrue(inq.succeeded && inq.stdout.contains("DIRECT_ACCESS"), "\(inq)\n\(consoleTail())")

        let size = 4 << 20
        let source = dir.appendingPathComponent("source.bin").path
        let back = dir.appendingPathComponent("back.bin").path
        try writeRandomFile(source, size: size)
        let lun = "driver=iscsi,transport=tcp,portal=\(portal),target=\(Self.iqn),lun=0,"
            + "initiator-name=iqn.2026-11.org.targe.test:appliance"
        let write = runTool(qemuImg, ["convert", "-n", "-f", "raw", "--target-image-opts", source, lun], timeout: 300)
        XCTAssertTrue(write.succeeded, "\(write)\n\(consoleTail())")
        let slice = "driver=raw,offset=0,size=\(size)," + lun.split(separator: ",").map { "file.\($0)" }.joined(separator: ",")
        let read = runTool(qemuImg, ["convert", "--image-opts", slice, "-O", "raw", back], timeout: 300)
        XCTAssertTrue(read.succeeded, "\(read)\n\(consoleTail())")
        if write.succeeded && read.succeeded {
            XCTAssertNil(firstDifference(source, back), "the LUN did not read back what was written")
        }

        // Power off from the console: the service logs out and flushes, /config is
        // unmounted, and qemu exits 0 (a PID 1 that exited would panic the kernel instead).
        input.fileHandleForWriting.write(Data("status\npoweroff\n".utf8))
        let stopDeadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < stopDeadline { usleep(100_000) }
        XCTAssertFalse(process.isRunning, "qemu still running 90 s after `poweroff`\n\(consoleTail())")
        guard !process.isRunning else { return }
        let end = console()
        XCTAssertEqual(process.terminationStatus, 0, consoleTail())
        XCTAssertTrue(end.contains("targe: service running"), consoleTail())
        XCTAssertTrue(end.contains("targe: iSCSI service stopped (exited with status 0)"), consoleTail())
        XCTAssertTrue(end.contains("targe: unmounted /config"), consoleTail())
        XCTAssertTrue(end.contains("targe: powering off"), consoleTail())
        XCTAssertFalse(end.contains("Kernel panic"), consoleTail())

        let shown = end.split(separator: "\n").filter { $0.hasPrefix("targe: ") || $0.contains("Power down") }
        print("[e2e] appliance console (PID 1's lines):\n" + shown.joined(separator: "\n"))

        // The config partition on the host: clean, and holding the first-boot config.
        try checkConfigPartition(image: image)
    }

    /// TARGE_IMAGE_DIR if it holds an image, else image/build.sh into the scratch dir (with
    /// TARGE_BIN when set, so the test does not rebuild the binary).
    private func imageDirectory(scratch: URL) throws -> String {
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

    private func checkConfigPartition(image: String) throws {
        guard let sfdisk = Tools.find("sfdisk"), let debugfs = Tools.find("debugfs"), let e2fsck = Tools.find("e2fsck") else {
            print("[e2e] sfdisk/debugfs/e2fsck missing: not checking the config partition")
            return
        }
        let table = runTool(sfdisk, ["--dump", image], timeout: 30)
        guard let line = table.stdout.split(separator: "\n").first(where: { $0.contains("name=\"targe-config\"") }),
              let startField = line.split(separator: ",").first(where: { $0.contains("start=") }),
              let start = Int(startField.split(separator: "=").last!.trimmingCharacters(in: .whitespaces)) else {
            return XCTFail("no targe-config partition in the image:\n\(table)")
        }
        let spec = "\(image)?offset=\(start * 512)"
        let fsck = runTool(e2fsck, ["-fn", spec], timeout: 60)
        XCTAssertTrue(fsck.succeeded, "config partition not clean after power-off:\n\(fsck)")
        let cat = runTool(debugfs, ["-R", "cat /targe.conf", spec], timeout: 60)
        XCTAssertTrue(cat.stdout.contains("[target data]") && cat.stdout.contains("path    /dev/vdb"), "\(cat)")
    }

    private func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw E2EError("bind: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw E2EError("getsockname: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }
}
