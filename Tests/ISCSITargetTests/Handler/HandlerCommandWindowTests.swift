import ISCSI
import NIOCore
import XCTest

/// The CmdSN window on one connection (RFC 7143 section 4.2.2.1): commands run in CmdSN
/// order, those outside [ExpCmdSN, MaxCmdSN] are ignored, and MaxCmdSN = ExpCmdSN + window - 1
/// - commands in flight.
final class HandlerCommandWindowTests: HandlerTestCase {
    func testCommandsBeyondMaxCmdSNAreIgnoredAndTheWindowReopensAsCommandsComplete() throws {
        try makeHarness(commandWindow: 4)
        let h = harness!
        let first = h.cmdSN
        let login = try XCTUnwrap(h.loginNormal().last)
        XCTAssertEqual(login.expCmdSN, first)
        XCTAssertEqual(login.maxCmdSN, first &+ 3, "a window of 4")
        try h.expectPowerOnUnitAttention()  // CmdSN first
        try h.assertWindow(open: 4)

        // Four writes wait for their Data-Out, each holding a place: the window closes.
        var writes: [(itt: UInt32, ttt: UInt32)] = []
        for k in 1...4 {
            let itt = try h.sendCommand(CDBs.write10(lba: UInt32(k), blocks: 1), write: true, edtl: 512)
            let r2ts = try h.receive()
            XCTAssertEqual(r2ts.map(\.opcode), [.readyToTransfer], "write \(k)")
            guard let r2t = r2ts.first else { return }
            XCTAssertEqual(r2t.expCmdSN, first &+ 1 &+ UInt32(k))
            XCTAssertEqual(r2t.maxCmdSN, first &+ 4, "MaxCmdSN stays while the writes are in flight")
            writes.append((itt, r2t.header.targetTransferTag))
        }
        XCTAssertEqual(h.cmdSN, first &+ 5)
        try h.assertWindow(open: 0)  // MaxCmdSN = ExpCmdSN - 1: closed

        // A command past MaxCmdSN is ignored: no response, no Reject, its ITT stays free. (The
        // command at ExpCmdSN itself is not: see testCommandAtExpCmdSNWhileTheWindowIsClosed.)
        let closedCmdSN = h.cmdSN
        let late = try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: closedCmdSN &+ 1)
        XCTAssertEqual(try h.receive().count, 0)
        // As is one far ahead and one behind ExpCmdSN.
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: closedCmdSN &+ 50)
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: first)
        XCTAssertEqual(try h.receive().count, 0)
        XCTAssertTrue(h.isOpen)
        try h.assertWindow(open: 0)

        // The first write completes: one place opens.
        try h.sendDataOut(itt: writes[0].itt, ttt: writes[0].ttt, dataSN: 0, offset: 0,
                          data: pattern(blocks: 1, seed: 1), final: true)
        let done = try h.receive()
        XCTAssertEqual(done.map(\.opcode), [.scsiResponse])
        XCTAssertEqual(done.first?.status, 0)
        XCTAssertEqual(done.first?.expCmdSN, closedCmdSN)
        try h.assertWindow(open: 1)

        // ExpCmdSN runs; then the ignored command, sent again with the same ITT and CmdSN.
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: closedCmdSN)
        XCTAssertEqual(try h.receive().map(\.status), [0])
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, itt: late, cmdSN: closedCmdSN &+ 1)
        let ran = try h.receive()
        XCTAssertEqual(ran.map(\.opcode), [.scsiResponse])
        XCTAssertEqual(ran.first?.header.initiatorTaskTag, late)
        XCTAssertEqual(ran.first?.status, 0)
        XCTAssertEqual(ran.first?.expCmdSN, closedCmdSN &+ 2)
        h.cmdSN = closedCmdSN &+ 2
        try h.assertWindow(open: 1)

        // The other writes complete: the window opens fully.
        for (k, write) in writes.dropFirst().enumerated() {
            try h.sendDataOut(itt: write.itt, ttt: write.ttt, dataSN: 0, offset: 0,
                              data: pattern(blocks: 1, seed: UInt8(k + 2)), final: true)
            XCTAssertEqual(try h.receive().map(\.status), [0])
            try h.assertWindow(open: UInt32(k + 2))
        }
        try h.assertWindow(open: 4)
        for k in 0..<4 {
            XCTAssertEqual(try h.read(lba: UInt32(k + 1), blocks: 1).data, pattern(blocks: 1, seed: UInt8(k + 1)))
        }
    }

    func testCommandsRunInCmdSNOrder() throws {
        let h = harness!
        try h.loginNormal()
        try h.expectPowerOnUnitAttention()
        let base = h.cmdSN
        // CmdSN base+1 comes first: it waits for base.
        let second = try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: base &+ 1)
        XCTAssertEqual(try h.receive().count, 0, "parked until its turn")
        let first = try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: base)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.header.initiatorTaskTag), [first, second])
        XCTAssertEqual(answers.map(\.status), [0, 0])
        XCTAssertEqual(answers.last?.expCmdSN, base &+ 2)
        XCTAssertEqual(answers[1].statSN, answers[0].statSN &+ 1)
        h.cmdSN = base &+ 2

        // A CmdSN that arrives twice while parked: the second is ignored.
        let parked = try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: base &+ 3)
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: base &+ 3)
        XCTAssertEqual(try h.receive().count, 0)
        let gap = try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: base &+ 2)
        XCTAssertEqual(try h.receive().map(\.header.initiatorTaskTag), [gap, parked])
    }

    func testAnImmediateCommandRunsAtOnceAndTakesNoPlace() throws {
        try makeHarness(commandWindow: 2)
        let h = harness!
        try h.loginNormal()
        try h.expectPowerOnUnitAttention()
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 1), write: true, edtl: 512)
        XCTAssertEqual(try h.receive().map(\.opcode), [.readyToTransfer])
        try h.assertWindow(open: 1)
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, immediate: true)
        let r = try h.receive()
        XCTAssertEqual(r.map(\.opcode), [.scsiResponse])
        XCTAssertEqual(r.first?.expCmdSN, h.cmdSN, "an immediate command does not advance ExpCmdSN")
        try h.assertWindow(open: 1)
        _ = itt
    }

    /// RFC 7143 4.2.2.1: a non-immediate command outside [ExpCmdSN, MaxCmdSN] is silently
    /// ignored; with the window closed (MaxCmdSN = ExpCmdSN - 1) that includes ExpCmdSN.
    func testCommandAtExpCmdSNWhileTheWindowIsClosed() throws {
        try makeHarness(commandWindow: 1)
        let h = harness!
        try h.loginNormal()
        try h.expectPowerOnUnitAttention()
        try h.assertWindow(open: 1)
        let write = try h.sendCommand(CDBs.write10(lba: 0, blocks: 1), write: true, edtl: 512)
        let r2t = try XCTUnwrap(h.receive().first)
        XCTAssertEqual(r2t.opcode, .readyToTransfer)
        try h.assertWindow(open: 0)
        let turCmdSN = h.cmdSN
        let tur = try h.sendCommand(CDBs.testUnitReady(), edtl: 0)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.summary), [], "ignored: the window is closed")
        // Ignored: the write completes, and the same command is accepted once sent again.
        try h.sendDataOut(itt: write, ttt: r2t.header.targetTransferTag, dataSN: 0, offset: 0,
                          data: pattern(blocks: 1, seed: 1), final: true)
        XCTAssertEqual(try h.receive().map(\.status), [0])
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, itt: tur, cmdSN: turCmdSN)
        XCTAssertEqual(try h.receive().map(\.header.initiatorTaskTag), [tur])
    }

    /// The status of a command reports MaxCmdSN with that command's place already given back:
    /// with a window of one, the initiator sees the window open again in the answer itself
    /// (not only at the next NOP-In ping).
    func testResponseReportsTheWindowTheAnsweredCommandFreed() throws {
        try makeHarness(commandWindow: 1)
        let h = harness!
        try h.loginNormal()
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0)
        let r = try XCTUnwrap(h.receive().first)
        XCTAssertEqual(r.opcode, .scsiResponse)
        XCTAssertEqual(r.expCmdSN, h.cmdSN)
        XCTAssertEqual(r.maxCmdSN, r.expCmdSN, "the window of one is open again")
    }
}
