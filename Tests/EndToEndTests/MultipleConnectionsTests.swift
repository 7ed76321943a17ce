// Multiple connections per session (MC/S, RFC 7143 sections 4.2.2 and 6.3.5), with the raw
// client (libiscsi and Linux open-iscsi do not do MC/S; Windows does): a second connection
// joins by ISID + TSIH within MaxConnections; the CmdSN window is the session's, so a
// command parked on one connection runs when the missing CmdSN arrives on the other, and each
// answers on the connection it came on (connection allegiance); a logout with reason 1 closes
// one connection by its CID while the session goes on.
import Foundation
import XCTest

final class MultipleConnectionsTests: EndToEndTestCase {
    /// How many connections the target has logged as closed.
    private func closedConnections(_ targe: TargeProcess) -> Int {
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        return log.components(separatedBy: "connection closed").count - 1
    }

    /// A session of two connections: A (leading, unit attentions cleared), then B joining.
    private func connectPair(_ targe: TargeProcess, target: String, initiator: String,
                             secondCID: UInt16) throws -> (RawSession, RawSession) {
        let a = try RawSession(host: targe.host, port: targe.port)
        try a.login(initiator: initiator, target: target, headerDigest: "None", maxConnections: 2)
        try a.clearUnitAttentions()
        let b = try RawSession(host: targe.host, port: targe.port)
        try b.login(initiator: initiator, target: target, headerDigest: "None", maxConnections: 2,
                    join: (a.isid, a.tsih, secondCID, a.cmdSN))
        return (a, b)
    }

    /// On A: CmdSN `skipped` - 1 (TEST UNIT READY) and `skipped` + 1 (a READ of `lba`) run,
    /// so `skipped` passed as a no-op, and the WRITE it carried left `lba` zero.
    private func assertSkipped(_ skipped: UInt32, lba: UInt8, on a: RawSession, _ what: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        a.cmdSN = skipped &- 1
        XCTAssertEqual(try a.execute([0, 0, 0, 0, 0, 0]).status, 0, "CmdSN \(skipped &- 1) runs", file: file, line: line)
        a.cmdSN = skipped &+ 1
        let read = try a.execute([0x28, 0, 0, 0, 0, lba, 0, 0, 1, 0], expectedIn: 512)
        XCTAssertEqual(read.status, 0, "CmdSN \(skipped &+ 1) runs: \(skipped) passed", file: file, line: line)
        XCTAssertEqual(read.data, [UInt8](repeating: 0, count: 512), "\(what) never ran", file: file, line: line)
    }

    /// A target offering MaxConnections 2 with one 4 MiB file LUN.
    private func startTwoConnectionTarget() throws -> (TargeProcess, target: String) {
        var config = ConfigBuilder()
        config.set("MaxConnections", "2")
        config.fileDevice("disk", size: "4MiB")
        config.target("mcs", luns: ["disk"])
        return (try startTarge(config), ConfigBuilder.iqn("mcs"))
    }

    func testTwoConnectionsShareOneCommandWindow() throws {
        let (targe, target) = try startTwoConnectionTarget()
        let initiator = "iqn.2026-11.org.targe.test:multi"

        let a = try RawSession(host: targe.host, port: targe.port)
        try a.login(initiator: initiator, target: target, headerDigest: "None", maxConnections: 4)
        XCTAssertEqual(a.negotiated["MaxConnections"], "2", "the smaller of the two offers")
        try a.clearUnitAttentions()
        let b = try RawSession(host: targe.host, port: targe.port)
        try b.login(initiator: initiator, target: target, headerDigest: "None", maxConnections: 2,
                    join: (a.isid, a.tsih, 1, a.cmdSN))
        XCTAssertEqual(b.tsih, a.tsih, "the same session")

        // A third connection is one too many; an unknown TSIH is no session.
        let c = try RawSession(host: targe.host, port: targe.port)
        XCTAssertThrowsError(try c.login(initiator: initiator, target: target, headerDigest: "None", maxConnections: 2,
                                         join: (a.isid, a.tsih, 2, a.cmdSN))) {
            XCTAssertTrue("\($0)".contains("status class 0x2 detail 0x6"), "too many connections: \($0)")
        }
        let d = try RawSession(host: targe.host, port: targe.port)
        XCTAssertThrowsError(try d.login(initiator: initiator, target: target, headerDigest: "None", maxConnections: 2,
                                         join: (a.isid, a.tsih &+ 100, 1, a.cmdSN))) {
            XCTAssertTrue("\($0)".contains("status class 0x2 detail 0xa"), "session does not exist: \($0)")
        }

        // CmdSN n+1 (a WRITE) on B waits for n; B's immediate ping answers first, with ExpCmdSN
        // still n. Then n (TEST UNIT READY) on A lets both run, each answered on its own
        // connection.
        let n = a.cmdSN
        let block = (0..<512).map { UInt8(truncatingIfNeeded: $0 * 3 + 1) }
        let writeTag = b.nextITT()
        b.cmdSN = n &+ 1
        try b.send(b.scsiCommand(cdb: [0x2A, 0, 0, 0, 0, 9, 0, 0, 1, 0], read: false, write: true,
                                 expectedLength: 512, data: block, itt: writeTag))
        let pingTag = b.nextITT()
        try b.send(b.nopOut(itt: pingTag))
        let pong = try b.readPDU()
        XCTAssertEqual(pong.opcode, Opcode.nopIn, "the ping is answered before the parked WRITE: \(pong)")
        XCTAssertEqual(pong.u32(28), n, "ExpCmdSN: still waiting for \(n)")
        a.cmdSN = n
        XCTAssertEqual(try a.execute([0, 0, 0, 0, 0, 0]).status, 0, "TEST UNIT READY on A")
        let written = try b.readPDU()
        XCTAssertEqual(written.opcode, Opcode.scsiResponse, "the WRITE is answered on B: \(written)")
        XCTAssertEqual(written.u32(16), writeTag)
        XCTAssertEqual(written.bhs[3], 0, "GOOD")
        XCTAssertEqual(written.u32(28), n &+ 2, "ExpCmdSN past both")
        a.cmdSN = n &+ 2
        let read = try a.execute([0x28, 0, 0, 0, 0, 9, 0, 0, 1, 0], expectedIn: 512)
        XCTAssertEqual(read.data, block, "A reads what B wrote")
        b.cmdSN = n &+ 3

        // Logout of B's CID, sent on A: B is closed, A carries on.
        var logout = PDU()
        logout.bhs[0] = 0x40 | Opcode.logoutRequest
        logout.bhs[1] = 0x80 | 1                    // reason 1: close the connection
        logout.setU32(16, a.nextITT())
        logout.bhs[20] = 0
        logout.bhs[21] = 1                          // CID 1
        logout.setU32(24, n &+ 3)
        logout.setU32(28, a.statSN &+ 1)
        try a.send(logout)
        let answer = try a.readPDU()
        XCTAssertEqual(answer.opcode, Opcode.logoutResponse)
        XCTAssertEqual(answer.bhs[2], 0, "connection closed successfully")
        let ending = b.conn.waitForClose(deadline: Date().addingTimeInterval(10))
        switch ending.end {
        case .closed, .reset: break
        default: XCTFail("the target did not close B: \(ending.end)")
        }
        a.cmdSN = n &+ 3
        XCTAssertEqual(try a.execute([0, 0, 0, 0, 0, 0]).status, 0, "the session goes on over A")
        a.conn.close()
    }

    /// ABORT TASK on one connection for a command parked on the other: found there, dropped,
    /// and its CmdSN still passes (the next command runs; the aborted WRITE never does).
    func testAbortTaskReachesTheOtherConnection() throws {
        let (targe, target) = try startTwoConnectionTarget()
        let (a, b) = try connectPair(targe, target: target, initiator: "iqn.2026-11.org.targe.test:aborter", secondCID: 7)

        let n = a.cmdSN
        let writeTag = b.nextITT()
        b.cmdSN = n &+ 1
        try b.send(b.scsiCommand(cdb: [0x2A, 0, 0, 0, 0, 3, 0, 0, 1, 0], read: false, write: true,
                                 expectedLength: 512, data: [UInt8](repeating: 0x5A, count: 512), itt: writeTag))
        try b.ping()   // B has taken the WRITE in (parked: CmdSN n is missing)

        var abort = PDU()
        abort.bhs[0] = 0x40 | 0x02                  // immediate Task Management Function Request
        abort.bhs[1] = 0x80 | 1                     // ABORT TASK
        abort.setU32(16, a.nextITT())
        abort.setU32(20, writeTag)                  // Referenced Task Tag
        abort.setU32(24, n)
        abort.setU32(28, a.statSN &+ 1)
        abort.setU32(32, n &+ 1)                    // RefCmdSN
        try a.send(abort)
        let answer = try a.readPDU()
        XCTAssertEqual(answer.opcode, 0x22, "Task Management Function Response: \(answer)")
        XCTAssertEqual(answer.bhs[2], 0, "function complete: the task was found on B")

        try assertSkipped(n &+ 1, lba: 3, on: a, "the aborted WRITE")
        let pingTag = b.nextITT()
        try b.send(b.nopOut(itt: pingTag))
        let next = try b.readPDU()
        XCTAssertEqual(next.opcode, Opcode.nopIn, "no response for the aborted WRITE on B: \(next)")
        a.conn.close()
        b.conn.close()
    }

    /// One connection dies with a command parked on it: the session goes on over the other,
    /// and the dead connection's CmdSN does not hold the window shut.
    func testALostConnectionDoesNotStallTheSession() throws {
        let (targe, target) = try startTwoConnectionTarget()
        let (a, b) = try connectPair(targe, target: target, initiator: "iqn.2026-11.org.targe.test:survivor", secondCID: 3)
        let n = a.cmdSN
        b.cmdSN = n &+ 1
        try b.send(b.scsiCommand(cdb: [0x2A, 0, 0, 0, 0, 4, 0, 0, 1, 0], read: false, write: true,
                                 expectedLength: 512, data: [UInt8](repeating: 0x77, count: 512), itt: b.nextITT()))
        try b.ping()
        let closedBefore = closedConnections(targe)
        b.conn.close()
        // The target logs "connection closed" once it has let go of B's parked commands.
        let deadline = Date().addingTimeInterval(15)
        while closedConnections(targe) == closedBefore && Date() < deadline { try a.ping() }
        XCTAssertGreaterThan(closedConnections(targe), closedBefore, "the target noticed B's end")
        try assertSkipped(n &+ 1, lba: 4, on: a, "the lost connection's WRITE")
        a.conn.close()
    }
}
