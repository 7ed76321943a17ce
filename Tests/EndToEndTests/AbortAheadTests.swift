// RFC 7143 section 11.5.1: ABORT TASK for a command the target has not received yet, whose
// RefCmdSN is in the window, answers Function Complete and makes the target consider that
// CmdSN received: the command, when it comes, is dropped without a response, and the window
// goes on past it.
import Foundation
import XCTest

final class AbortAheadTests: EndToEndTestCase {
    func testAbortBeforeArrivalDropsTheCommandAndMovesTheWindowOn() throws {
        var config = ConfigBuilder()
        config.fileDevice("disk", size: "4MiB")
        config.target("ahead", luns: ["disk"])
        let targe = try startTarge(config)
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: "iqn.2026-11.org.targe.test:ahead", target: ConfigBuilder.iqn("ahead"), headerDigest: "None")
        try s.clearUnitAttentions()

        let n = s.cmdSN
        let writeTag = s.nextITT()
        var abort = PDU()
        abort.bhs[0] = 0x40 | 0x02                  // immediate Task Management Function Request
        abort.bhs[1] = 0x80 | 1                     // ABORT TASK
        abort.setU32(16, s.nextITT())
        abort.setU32(20, writeTag)
        abort.setU32(24, n)
        abort.setU32(28, s.statSN &+ 1)
        abort.setU32(32, n)                         // RefCmdSN: the WRITE not sent yet
        try s.send(abort)
        let answer = try s.readPDU()
        XCTAssertEqual(answer.opcode, 0x22)
        XCTAssertEqual(answer.bhs[2], 0, "Function Complete")
        XCTAssertEqual(answer.u32(28), n &+ 1, "ExpCmdSN: n counts as received")

        // The WRITE arrives late with CmdSN n: dropped, no response, nothing written.
        s.cmdSN = n
        try s.send(s.scsiCommand(cdb: [0x2A, 0, 0, 0, 0, 2, 0, 0, 1, 0], read: false, write: true,
                                 expectedLength: 512, data: [UInt8](repeating: 0xEE, count: 512), itt: writeTag))
        s.cmdSN = n &+ 1
        let read = try s.execute([0x28, 0, 0, 0, 0, 2, 0, 0, 1, 0], expectedIn: 512)
        XCTAssertEqual(read.status, 0, "CmdSN n+1 runs")
        XCTAssertEqual(read.data, [UInt8](repeating: 0, count: 512), "the aborted WRITE never ran")
        // Its ITT is free again: a new command may use it.
        s.cmdSN = n &+ 2
        let reuse = s.scsiCommand(cdb: [0, 0, 0, 0, 0, 0], read: false, write: false, expectedLength: 0, itt: writeTag)
        try s.send(reuse)
        var status: UInt8?
        for _ in 0..<8 {
            let pdu = try s.readPDU()
            XCTAssertNotEqual(pdu.opcode, Opcode.reject, "the ITT was not left in use: \(pdu)")
            if pdu.opcode == Opcode.scsiResponse && pdu.u32(16) == writeTag { status = pdu.bhs[3]; break }
        }
        XCTAssertEqual(status, 0, "TEST UNIT READY with the reused ITT")
        s.conn.close()
    }
}
