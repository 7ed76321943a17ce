// Attacks that try to make the target allocate without limit (issue 17), run against
// `targe serve` with a raw-socket initiator, while a real initiator keeps working.
import Foundation
import XCTest

final class ExhaustionTests: EndToEndTestCase {
    /// `targe serve` with one RAM LU (target "disk"), its resident memory, and a raw session
    /// logged in to it as `iqn.2026-11.org.targe.test:<name>`.
    private func startAttack(as name: String, lunSize: String, timeouts: [(key: String, value: String)]? = nil)
        throws -> (TargeProcess, RawSession, Int) {
        var config = ConfigBuilder()
        config.ramDevice("r1", size: lunSize)
        config.target("disk", luns: ["r1"])
        if let timeouts { config.timeouts = timeouts }
        let targe = try startTarge(config)
        let before = residentBytes(targe.pid)
        let attacker = try RawSession(host: targe.host, port: targe.port)
        try attacker.login(initiator: "iqn.2026-11.org.targe.test:\(name)", target: ConfigBuilder.iqn("disk"), headerDigest: "None")
        return (targe, attacker, before)
    }

    /// Hundreds of 8 MiB READs from a session that never reads its socket: before, every
    /// read's buffer and Data-In were allocated and queued (1,536 of them took the target to
    /// 3.66 GB). Now reads wait while the socket does not drain (OutputBudget), so the
    /// target's memory stays within the budget, another initiator is served meanwhile, and
    /// the stalled connection is dropped after the NOP timeout.
    func testReadsForAPeerThatNeverReadsStayBounded() throws {
        let iscsiInq = try Tools.iscsiInq()
        let (targe, attacker, before) = try startAttack(as: "greedy", lunSize: "64MiB",
                                                        timeouts: [("nop-interval", "1"), ("nop-timeout", "3"), ("login-timeout", "15")])
        let read8MiB: [UInt8] = [0x28, 0, 0, 0, 0, 0, 0, 0x40, 0x00, 0]   // READ(10) LBA 0, 16384 blocks
        for i in 0..<400 {
            try attacker.send(attacker.scsiCommand(cdb: read8MiB, read: true, write: false, expectedLength: 8 << 20,
                                                   itt: 0x1000 + UInt32(i)))
        }
        var peak = 0
        for _ in 0..<20 {
            peak = max(peak, residentBytes(targe.pid))
            usleep(100_000)
        }
        print("[e2e] resident memory \(before >> 20) MiB before, \(peak >> 20) MiB at most with 400 8 MiB READs unread")
        XCTAssertLessThan(peak - before, 128 << 20, "the target allocated for reads its peer does not take")

        let inq = runTool(iscsiInq, [targe.lunURL(target: "disk")], timeout: 30, abortIf: targe.abortIfDead)
        XCTAssertTrue(inq.succeeded && inq.stdout.contains("DIRECT_ACCESS"), "another initiator is served: \(inq)")

        let deadline = Date().addingTimeInterval(15)
        var dropped = false
        while Date() < deadline && !dropped {
            let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
            dropped = log.contains("has not read its socket")
            if !dropped { usleep(200_000) }
        }
        XCTAssertTrue(dropped, "the stalled connection is dropped after nop-timeout\n\(targe.diagnostics)")
        attacker.conn.close()
        assertAlive(targe, "after the read flood")
    }

    /// Immediate WRITEs carrying 512 bytes each, one per TCP segment, that never send the
    /// rest of their data: before, each kept a task and a whole 64 KiB receive buffer (5,000
    /// of them cost 323 MB). Now tasks past the window's worth plus a few get the RFC's Reject
    /// (too many immediate commands), waiting pieces are copied out of the receive buffer, and
    /// another initiator is served meanwhile.
    func testImmediateCommandsCannotPileUp() throws {
        let iscsiInq = try Tools.iscsiInq()
        let (targe, attacker, before) = try startAttack(as: "piler", lunSize: "16MiB")
        let write1K: [UInt8] = [0x2A, 0, 0, 0, 0, 0, 0, 0, 2, 0]   // WRITE(10) LBA 0, 2 blocks
        for i in 0..<5000 {
            var pdu = attacker.scsiCommand(cdb: write1K, read: false, write: true, expectedLength: 1024,
                                           data: [UInt8](repeating: 0xA5, count: 512), itt: 0x10000 + UInt32(i))
            attacker.cmdSN &-= 1    // immediate: carries the current CmdSN without taking it
            pdu.bhs[0] |= 0x40
            try attacker.send(pdu)
        }
        var rejects = 0
        while let rsp = try? attacker.conn.readPDU(headerDigest: false, deadline: Date().addingTimeInterval(2)) {
            if rsp.opcode == Opcode.reject && rsp.bhs[2] == 0x06 { rejects += 1 }
        }
        let after = residentBytes(targe.pid)
        print("[e2e] resident memory \(before >> 20) MiB before, \(after >> 20) MiB after 5,000 waiting immediate WRITEs; \(rejects) rejected")
        XCTAssertGreaterThan(rejects, 4000, "past the limit, immediate commands are rejected (reason 0x06)")
        XCTAssertLessThan(after - before, 32 << 20, "the waiting commands kept their receive buffers")

        let inq = runTool(iscsiInq, [targe.lunURL(target: "disk")], timeout: 30, abortIf: targe.abortIfDead)
        XCTAssertTrue(inq.succeeded && inq.stdout.contains("DIRECT_ACCESS"), "another initiator is served: \(inq)")
        attacker.conn.close()
        assertAlive(targe, "after the immediate flood")
    }

    /// The open file limit a target inherits (1,024 under most inits) is raised to the hard
    /// limit at start, so connections do not run out of descriptors at a thousand.
    func testOpenFileLimitIsRaisedToTheHardLimit() throws {
        let prlimit = try Tools.require("prlimit", package: "util-linux")
        var config = ConfigBuilder()
        config.ramDevice("r1", size: "16MiB")
        config.target("disk", luns: ["r1"])
        let dir = try makeScratchDir()
        let configPath = dir.appendingPathComponent("targe.conf").path
        try config.render(dir: dir.path).write(toFile: configPath, atomically: false, encoding: .utf8)
        let targe = TargeProcess(binary: prlimit, arguments: ["--nofile=256:4096", try Paths.targeBinary(), "serve",
                                                                "--config", configPath], dir: dir)
        targes.append(targe)
        try targe.start()
        let limits = (try? String(contentsOfFile: "/proc/\(targe.pid)/limits", encoding: .utf8)) ?? ""
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        XCTAssertEqual(line.split(separator: " ").filter { Int($0) != nil }, ["4096", "4096"],
                       "soft limit raised from 256 to the hard 4096: \(line)")
    }

    /// 500 connections that send 22 bytes of a login header and go quiet: each used to keep
    /// the 64 KiB buffer its bytes came in (and, closed, its whole handler); now its bytes.
    func testHalfHeadersCostTheirBytes() throws {
        let iscsiInq = try Tools.iscsiInq()
        var config = ConfigBuilder()
        // All 500 from one address: this measures what each costs, not the cap on them.
        config.serverLines = ["max-logins-per-address 1000"]
        config.ramDevice("r1", size: "16MiB")
        config.target("disk", luns: ["r1"])
        let targe = try startTarge(config)
        let before = residentBytes(targe.pid)
        var idle: [RawConnection] = []
        for _ in 0..<500 {
            let c = try RawConnection(host: targe.host, port: targe.port)
            try c.send([0x43, 0x87] + [UInt8](repeating: 0, count: 20))
            idle.append(c)
        }
        usleep(1_000_000)
        let during = residentBytes(targe.pid)
        print("[e2e] resident memory \(before >> 20) MiB before, \(during >> 20) MiB with 500 connections holding half a header")
        XCTAssertLessThan(during - before, 16 << 20, "about 64 KiB a connection is kept")
        let inq = runTool(iscsiInq, [targe.lunURL(target: "disk")], timeout: 30, abortIf: targe.abortIfDead)
        XCTAssertTrue(inq.succeeded && inq.stdout.contains("DIRECT_ACCESS"), "a real login meanwhile: \(inq)")
        for c in idle { c.close() }
        assertAlive(targe, "after the half-header connections")
    }
}
