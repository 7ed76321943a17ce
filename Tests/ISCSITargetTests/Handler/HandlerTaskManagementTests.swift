import ISCSI
import NIOCore
import XCTest

@testable import ISCSITarget

/// ABORT TASK (function 1) on a bare handler, and Logout with a command in flight.
final class HandlerTaskManagementTests: HandlerTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try harness.loginNormal()
        try harness.expectPowerOnUnitAttention()
    }

    private func abortTask(itt referenced: UInt32, refCmdSN: UInt32) throws -> [PDU] {
        let h = harness!
        let tmfITT = h.allocateITT()
        let pdus = try h.exchange(InitiatorPDUBuilder.taskManagement(function: .abortTask, itt: tmfITT,
                                                                    referencedTaskTag: referenced, refCmdSN: refCmdSN,
                                                                    cmdSN: h.cmdSN, expStatSN: h.expStatSN))
        for pdu in pdus where pdu.opcode == .taskManagementResponse {
            XCTAssertEqual(pdu.header.initiatorTaskTag, tmfITT)
        }
        return pdus
    }

    func testAbortTaskDuringDataOut() throws {
        let h = harness!
        let old = pattern(blocks: 16, seed: 11)
        XCTAssertEqual(try h.write(lba: 200, data: old).status, 0)

        let new = pattern(blocks: 16, seed: 12)
        let writeCmdSN = h.cmdSN
        let itt = try h.sendCommand(CDBs.write10(lba: 200, blocks: 16), write: true, edtl: new.count)
        let r2ts = try h.receive()
        XCTAssertEqual(r2ts.map(\.opcode), [.readyToTransfer])
        guard let r2t = r2ts.first else { return }
        XCTAssertEqual(r2t.maxCmdSN, h.cmdSN &+ 126, "the write holds its place")
        let ttt = r2t.header.targetTransferTag
        try h.sendDataOut(itt: itt, ttt: ttt, dataSN: 0, offset: 0, data: Array(new[0..<4096]), final: false)
        XCTAssertEqual(try h.receive().count, 0)

        let statSNBefore = h.expStatSN
        let answers = try abortTask(itt: itt, refCmdSN: writeCmdSN)
        XCTAssertEqual(answers.map(\.opcode), [.taskManagementResponse], "no SCSI Response for the aborted write")
        guard let tmf = answers.first else { return }
        XCTAssertEqual(tmf.response, TaskManagementResponse.functionComplete.rawValue)
        XCTAssertTrue(tmf.header.isFinal)
        XCTAssertEqual(tmf.statSN, statSNBefore)
        XCTAssertEqual(tmf.expCmdSN, h.cmdSN, "an immediate request takes no CmdSN")
        XCTAssertEqual(tmf.maxCmdSN, h.cmdSN &+ 127, "the aborted write gave its place back")

        // The rest of the Data-Out sequence is dropped without a word.
        try h.sendDataOut(itt: itt, ttt: ttt, dataSN: 1, offset: 4096, data: Array(new[4096..<8192]), final: true)
        XCTAssertEqual(try h.receive().count, 0)
        XCTAssertTrue(h.isOpen)
        XCTAssertEqual(try h.read(lba: 200, blocks: 16).data, old, "nothing of the aborted write reached the medium")
        try h.assertWindow(open: 128)

        // The ITT is free again.
        let again = try h.sendCommand(CDBs.testUnitReady(), edtl: 0, itt: itt)
        let tur = try h.receive()
        XCTAssertEqual(tur.map(\.opcode), [.scsiResponse])
        XCTAssertEqual(tur.first?.header.initiatorTaskTag, again)
        XCTAssertEqual(tur.first?.status, 0)
    }

    func testAbortTaskForAnUnknownTaskSaysTaskDoesNotExist() throws {
        let h = harness!
        // The TEST UNIT READY of setUp had CmdSN cmdSN-1: answered, gone.
        let answers = try abortTask(itt: 0xdead, refCmdSN: h.cmdSN &- 1)
        XCTAssertEqual(answers.map(\.opcode), [.taskManagementResponse])
        XCTAssertEqual(answers.first?.response, TaskManagementResponse.taskDoesNotExist.rawValue)
    }

    func testAbortTaskAheadOfItsCommandDropsTheCommand() throws {
        let h = harness!
        // RFC 7143 11.5.1: the CmdSN of a task not received yet counts as received.
        let lateCmdSN = h.cmdSN
        let answers = try abortTask(itt: 0x4444, refCmdSN: lateCmdSN)
        XCTAssertEqual(answers.map(\.opcode), [.taskManagementResponse])
        XCTAssertEqual(answers.first?.response, TaskManagementResponse.functionComplete.rawValue)
        XCTAssertEqual(answers.first?.expCmdSN, lateCmdSN &+ 1, "the window moved past the aborted CmdSN")
        // The command comes late and is dropped; the next one runs.
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, itt: 0x4444)
        XCTAssertEqual(try h.receive().count, 0)
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0)
        let next = try h.receive()
        XCTAssertEqual(next.map(\.opcode), [.scsiResponse])
        XCTAssertEqual(next.first?.status, 0)
        XCTAssertEqual(next.first?.expCmdSN, h.cmdSN)
    }

    // MARK: logout

    private func logout(reason: UInt8, cid: UInt16 = 1) throws -> (itt: UInt32, pdus: [PDU]) {
        let h = harness!
        let itt = h.allocateITT()
        let pdus = try h.exchange(InitiatorPDUBuilder.logout(reason: reason, itt: itt, cid: cid, cmdSN: h.cmdSN,
                                                             expStatSN: h.expStatSN))
        h.cmdSN &+= 1
        return (itt, pdus)
    }

    func testLogoutWithAWriteWaitingForDataOut() throws {
        let h = harness!
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 16), write: true, edtl: 8192)
        let r2ts = try h.receive()
        XCTAssertEqual(r2ts.map(\.opcode), [.readyToTransfer])
        let statSNBefore = h.expStatSN

        let (logoutITT, answers) = try logout(reason: 0)
        XCTAssertEqual(answers.map(\.opcode), [.logoutResponse], "the write ends without a response")
        guard let response = answers.first else { return }
        XCTAssertEqual(response.header.initiatorTaskTag, logoutITT)
        XCTAssertEqual(response.response, 0, "connection or session closed successfully")
        XCTAssertTrue(response.header.isFinal)
        XCTAssertEqual(response.statSN, statSNBefore)
        XCTAssertEqual(response.expCmdSN, h.cmdSN, "the Logout Request took its CmdSN")
        XCTAssertEqual(response.header.word40 >> 16, 2, "Time2Wait")
        XCTAssertEqual(response.header.word40 & 0xffff, 20, "Time2Retain")
        XCTAssertFalse(h.isOpen, "the connection closes after the Logout Response")
        XCTAssertEqual(h.leftoverBytes, 0)
    }

    func testLogoutOfAnotherCIDThatDoesNotExist() throws {
        let (_, answers) = try logout(reason: 1, cid: 9)
        XCTAssertEqual(answers.map(\.opcode), [.logoutResponse])
        XCTAssertEqual(answers.first?.response, 1, "CID not found")
        XCTAssertTrue(harness.isOpen)
        try harness.assertWindow(open: 128)
    }

    func testLogoutOfThisConnectionByCID() throws {
        let (_, answers) = try logout(reason: 1, cid: 1)
        XCTAssertEqual(answers.map(\.opcode), [.logoutResponse])
        XCTAssertEqual(answers.first?.response, 0)
        XCTAssertFalse(harness.isOpen)
    }

    func testLogoutForRecoveryIsNotSupportedAndTheConnectionStays() throws {
        let (_, answers) = try logout(reason: 2)
        XCTAssertEqual(answers.map(\.opcode), [.logoutResponse])
        XCTAssertEqual(answers.first?.response, 2, "connection recovery is not supported")
        XCTAssertTrue(harness.isOpen)
    }
}

/// Tasks cannot pile up: immediate commands past the window's worth of tasks get the RFC's
/// Reject, and commands whose Data-Out never comes are failed.
final class HandlerTaskLimitTests: HandlerTestCase {
    func testImmediateCommandsPastTheTaskLimitAreRejected() throws {
        try makeHarness(commandWindow: 4)
        let h = harness!
        try h.loginNormal()  // InitialR2T=Yes, ImmediateData=No: each WRITE waits for an R2T's data
        try h.expectPowerOnUnitAttention()
        let limit = 4 + ConnectionHandler.immediateTaskAllowance
        var rejects = 0
        for i in 0..<(limit + 5) {
            try h.sendCommand(CDBs.write10(lba: UInt32(i), blocks: 1), write: true, edtl: 512, immediate: true)
            rejects += try h.receive().filter { $0.opcode == .reject }.count
        }
        XCTAssertEqual(rejects, 5, "exactly the commands past the limit")
        XCTAssertTrue(h.isOpen)
    }

    func testACommandWhoseDataNeverComesIsFailed() throws {
        let h = harness!
        try h.loginNormal()
        try h.expectPowerOnUnitAttention()
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 1), write: true, edtl: 512)
        XCTAssertEqual(try h.receive().map(\.opcode), [.readyToTransfer])
        let handler = try h.channel.pipeline.syncOperations.handler(type: ConnectionHandler.self)
        handler.failCommandsWaitingForData(longerThan: .seconds(15), at: .now())
        XCTAssertEqual(try h.receive().count, 0, "not before its time")
        handler.failCommandsWaitingForData(longerThan: .seconds(15), at: .now() + .seconds(16))
        let answer = try XCTUnwrap(h.receive().first)
        XCTAssertEqual(answer.opcode, .scsiResponse)
        XCTAssertEqual(answer.header.initiatorTaskTag, itt)
        XCTAssertEqual(answer.status, 0x02, "CHECK CONDITION")
        // Its data arriving late is ignored; the connection goes on.
        try h.sendDataOut(itt: itt, ttt: 0x1234, dataSN: 0, offset: 0, data: [UInt8](repeating: 1, count: 512), final: true)
        XCTAssertEqual(try h.receive().count, 0)
        XCTAssertTrue(h.isOpen)
    }
}
