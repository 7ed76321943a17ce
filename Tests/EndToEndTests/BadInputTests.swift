// Malformed and hostile input on raw sockets. The target must drop (or reject) the bad
// connection and go on serving everyone else.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class BadInputTests: EndToEndTestCase {
    private static let initiator = "iqn.2026-11.org.targe.test:e2e-raw"
    /// The target's MaxRecvDataSegmentLength in these tests.
    private static let targetMRDSL = 8192

    private func startTarget() throws -> TargeProcess {
        var config = ConfigBuilder()
        config.set("MaxRecvDataSegmentLength", "\(Self.targetMRDSL)")
        config.set("MaxBurstLength", "262144")
        config.set("FirstBurstLength", "65536")
        config.set("InitialR2T", "No")
        config.set("ImmediateData", "Yes")
        config.set("HeaderDigest", "CRC32C,None")
        config.fileDevice("disk0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        return try startTarge(config)
    }

    private func session(_ targe: TargeProcess, headerDigest: String) throws -> RawSession {
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: Self.initiator, target: ConfigBuilder.iqn("disk"), headerDigest: headerDigest)
        return s
    }

    /// The target process is alive and a fresh session logs in and answers a ping and
    /// READ CAPACITY (with our raw initiator, and with libiscsi when it is installed).
    private func assertStillServing(_ targe: TargeProcess, _ context: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        if let death = targe.deathNotice {
            XCTFail("\(death) \(context)\n\(targe.diagnostics)", file: file, line: line)
            return
        }
        do {
            let s = try session(targe, headerDigest: "None")
            try s.ping()
            let cap = try s.readCapacity10()
            XCTAssertEqual((UInt64(cap.lastLBA) + 1) * UInt64(cap.blockLength), 64 << 20,
                           "READ CAPACITY(10) \(context)", file: file, line: line)
        } catch {
            XCTFail("a fresh raw session failed \(context): \(error)\n\(aliveNote(targe))\n\(targe.diagnostics)",
                    file: file, line: line)
        }
        if let rc16 = Tools.find("iscsi-readcapacity16") {
            let r = runTool(rc16, [targe.lunURL(target: "disk")], timeout: 60, abortIf: targe.abortIfDead)
            assertSucceeded(r, "iscsi-readcapacity16 \(context)", targe, file: file, line: line)
        }
    }

    // MARK: the attacks, each usable alone or while another session works

    /// 200 bytes of garbage on a fresh connection (first byte an opcode no initiator may
    /// send first): the target must close the connection within a few seconds.
    private func garbage(_ targe: TargeProcess) throws -> String? {
        var rng = SplitMix64(seed: 0x7a72_6765)
        var junk = (0..<200).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        junk[0] = 0x1d    // reserved opcode, not a Login Request
        let conn = try RawConnection(host: targe.host, port: targe.port)
        do { try conn.send(junk) } catch let end as ReadEnd where end.isDrop { return nil }
        let (end, discarded) = conn.waitForClose(deadline: Date().addingTimeInterval(5))
        print("[e2e] garbage: \(end) after discarding \(discarded) bytes")
        return end.isDrop ? nil : "after 200 bytes of garbage the connection stayed open (\(end))"
    }

    /// 30 bytes of a Login Request BHS, then close.
    private func truncated(_ targe: TargeProcess) throws {
        var pdu = PDU(data: textSegment([("InitiatorName", Self.initiator)]))
        pdu.bhs[0] = 0x40 | Opcode.loginRequest
        pdu.bhs[1] = 0x87
        pdu.setDataSegmentLength(pdu.data.count)
        let conn = try RawConnection(host: targe.host, port: targe.port)
        try? conn.send(Array(pdu.wire(headerDigest: false).prefix(30)))
        conn.close()
        usleep(300_000)
    }

    /// A normal session with HeaderDigest=CRC32C: a NOP-Out with a good digest is answered,
    /// one with a wrong digest must make the target drop the connection (RFC 7143 7.8).
    private func badHeaderDigest(_ targe: TargeProcess) throws -> String? {
        let s = try session(targe, headerDigest: "CRC32C")
        guard s.headerDigest else {
            return "HeaderDigest=CRC32C was offered but the target negotiated \(s.negotiated["HeaderDigest"] ?? "nothing")"
        }
        try s.ping()    // control: our digest is right and the session works
        let pdu = s.nopOut(itt: 0x7777)
        do { try s.send(pdu, corruptDigest: true) } catch let end as ReadEnd where end.isDrop { return nil }
        let deadline = Date().addingTimeInterval(5)
        while true {
            do {
                let rsp = try s.conn.readPDU(headerDigest: true, deadline: deadline)
                if rsp.opcode == Opcode.nopIn && rsp.u32(16) == 0x7777 {
                    return "the target answered a NOP-Out whose header digest was wrong"
                }
                print("[e2e] bad digest: target sent \(rsp) before dropping")
            } catch let end as ReadEnd {
                print("[e2e] bad digest: \(end)")
                return end.isDrop ? nil : "after a header digest error the connection stayed open (\(end))"
            }
        }
    }

    /// A SCSI WRITE whose immediate data segment is twice the target's declared
    /// MaxRecvDataSegmentLength: a Reject (protocol error 0x04 or invalid PDU field 0x09,
    /// RFC 7143 11.17.1) or a dropped connection; never a successful write.
    private func oversizedSegment(_ targe: TargeProcess) throws -> String? {
        let s = try session(targe, headerDigest: "None")
        let cap = try s.readCapacity10()
        let limit = s.targetMaxRecvDataSegmentLength
        let length = 2 * limit
        let blocks = UInt16(length / Int(cap.blockLength))
        print("[e2e] oversized: target MaxRecvDataSegmentLength \(limit), block \(cap.blockLength), sending \(length) bytes")
        let cdb: [UInt8] = [0x2a, 0, 0, 0, 0, 0, 0, UInt8(blocks >> 8), UInt8(blocks & 0xff), 0]
        let tag = s.nextITT()
        let pdu = s.scsiCommand(cdb: cdb, read: false, write: true, expectedLength: UInt32(length),
                                data: [UInt8](repeating: 0xa5, count: length), itt: tag)
        do { try s.send(pdu) } catch let end as ReadEnd where end.isDrop { return nil }
        let deadline = Date().addingTimeInterval(5)
        while true {
            do {
                let rsp = try s.conn.readPDU(headerDigest: false, deadline: deadline)
                switch rsp.opcode {
                case Opcode.reject:
                    let reason = rsp.bhs[2]
                    print("[e2e] oversized: Reject reason 0x\(String(reason, radix: 16))")
                    return [0x04, 0x09].contains(reason) ? nil
                        : "Reject with reason 0x\(String(reason, radix: 16)) (expected 0x04 protocol error or 0x09 invalid PDU field)"
                case Opcode.scsiResponse where rsp.u32(16) == tag:
                    return "the target answered the oversized PDU with a SCSI Response (status 0x\(String(rsp.bhs[3], radix: 16))) instead of rejecting it"
                default:
                    print("[e2e] oversized: target sent \(rsp)")
                }
            } catch let end as ReadEnd {
                print("[e2e] oversized: \(end)")
                return end.isDrop ? nil : "neither a Reject nor a dropped connection (\(end))"
            }
        }
    }

    // MARK: tests

    func testCRC32CImplementation() {
        XCTAssertEqual(crc32c([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(digestBytes(crc32c([UInt8](repeating: 0, count: 32))), [0xaa, 0x36, 0x91, 0x8a])
        XCTAssertEqual(crc32c([UInt8](repeating: 0xff, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(crc32c(Array("123456789".utf8)), 0xE306_9283)
    }

    func testGarbageIsDroppedAndTargetSurvives() throws {
        let targe = try startTarget()
        if let problem = try garbage(targe) { XCTFail(problem + "\n" + targe.diagnostics) }
        assertStillServing(targe, "after garbage")
    }

    func testTruncatedPDUDoesNotCrashTarget() throws {
        let targe = try startTarget()
        try truncated(targe)
        assertStillServing(targe, "after a truncated PDU")
    }

    func testHeaderDigestErrorDropsConnection() throws {
        let targe = try startTarget()
        if let problem = try badHeaderDigest(targe) { XCTFail(problem + "\n" + targe.diagnostics) }
        assertStillServing(targe, "after a header digest error")
    }

    func testOversizedDataSegmentIsRejectedOrDropped() throws {
        let targe = try startTarget()
        if let problem = try oversizedSegment(targe) { XCTFail(problem + "\n" + targe.diagnostics) }
        assertStillServing(targe, "after an oversized data segment")
    }

    /// All of the above in a row while a qemu-img compare loop keeps checking an 8 MiB region
    /// on its own sessions: every compare must succeed.
    func testOtherSessionsKeepWorkingDuringBadInput() throws {
        let qemu = try Tools.qemuImg()
        let targe = try startTarget()
        let dir = try makeScratchDir()
        let src = dir.appendingPathComponent("region.img").path
        try writeRandomFile(src, size: 8 << 20)
        var lun = QemuLUN(targe, target: "disk")
        lun.offset = 32 << 20
        lun.size = 8 << 20
        lun.initiatorName = "iqn.2026-11.org.targe.test:e2e-bystander"
        let write = runTool(qemu, lun.writeArgs(from: src), timeout: 120, abortIf: targe.abortIfDead)
        assertSucceeded(write, "qemu-img convert (bystander region)", targe)
        guard write.succeeded else { return }

        struct LoopState { var stop = false; var passed = 0; var failures: [String] = [] }
        let state = Locked(LoopState())
        let done = DispatchSemaphore(value: 0)
        let compareArgs = lun.compareArgs(with: src)
        let loop = Thread {
            while !state.current.stop {
                let r = runTool(qemu, compareArgs, timeout: 120, abortIf: targe.abortIfDead)
                state.withLock {
                    if r.succeeded && r.stdout.contains("Images are identical") { $0.passed += 1 }
                    else { $0.failures.append(r.description) }
                }
            }
            done.signal()
        }
        loop.start()
        var stopped = false
        func stopLoop() {
            guard !stopped else { return }
            stopped = true
            state.withLock { $0.stop = true }
            done.wait()
        }
        defer { stopLoop() }    // also when an attack throws

        var problems: [String] = []
        for round in 0..<2 {
            if let p = try garbage(targe) { problems.append("round \(round) garbage: \(p)") }
            try truncated(targe)
            if let p = try badHeaderDigest(targe) { problems.append("round \(round) header digest: \(p)") }
            if let p = try oversizedSegment(targe) { problems.append("round \(round) oversized: \(p)") }
        }
        // Let the bystander run at least a couple of times in all.
        let until = Date().addingTimeInterval(60)
        while state.current.passed + state.current.failures.count < 2 && Date() < until { usleep(100_000) }
        stopLoop()

        let final = state.current
        print("[e2e] bystander compares: \(final.passed) passed, \(final.failures.count) failed")
        for p in problems { XCTFail(p) }
        XCTAssertGreaterThan(final.passed, 0, "the bystander compare loop never succeeded")
        XCTAssertTrue(final.failures.isEmpty,
                      "bystander compares failed during bad input:\n\(final.failures.prefix(3).joined(separator: "\n"))\n\(targe.diagnostics)")
        assertStillServing(targe, "after all the bad input")
    }
}

/// A tiny deterministic generator so the garbage is the same on every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
