import ISCSI
import NIOCore
import XCTest

/// Writes with ImmediateData=Yes and InitialR2T=No: immediate data, unsolicited Data-Out up to
/// FirstBurstLength, R2Ts for the rest; and the PDUs the handler refuses.
final class HandlerUnsolicitedDataTests: HandlerTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        let final = try XCTUnwrap(harness.loginNormal(keys: HandlerHarness.operationalKeys([
            ("InitialR2T", "No"), ("ImmediateData", "Yes"), ("FirstBurstLength", "4096"), ("MaxBurstLength", "8192"),
        ])).last)
        XCTAssertEqual(final.keys["InitialR2T"], "No")
        XCTAssertEqual(final.keys["ImmediateData"], "Yes")
        XCTAssertEqual(final.keys["FirstBurstLength"], "4096")
        try harness.expectPowerOnUnitAttention()
    }

    func testImmediateAndUnsolicitedDataThenR2TsForTheRest() throws {
        let h = harness!
        let data = pattern(blocks: 32, seed: 31)  // 16 KiB
        // 1 KiB immediate, 3 KiB unsolicited Data-Out (FirstBurstLength 4096), 12 KiB solicited.
        let itt = try h.sendCommand(CDBs.write10(lba: 64, blocks: 32), write: true, edtl: data.count,
                                    data: Array(data[0..<1024]))
        let r2ts = try h.receive()
        XCTAssertEqual(r2ts.map(\.opcode), [.readyToTransfer], "the solicited part is asked for at once")
        guard let first = r2ts.first else { return }
        XCTAssertEqual(first.bufferOffset, 4096, "after FirstBurstLength")
        XCTAssertEqual(first.desiredLength, 8192)
        XCTAssertEqual(first.r2tSN, 0)

        try h.sendDataOut(itt: itt, ttt: reservedTag, dataSN: 0, offset: 1024, data: Array(data[1024..<2048]),
                          final: false)
        try h.sendDataOut(itt: itt, ttt: reservedTag, dataSN: 1, offset: 2048, data: Array(data[2048..<4096]),
                          final: true)
        XCTAssertEqual(try h.receive().count, 0, "MaxOutstandingR2T 1: the next R2T waits for the first burst")

        try h.sendDataOut(itt: itt, ttt: first.header.targetTransferTag, dataSN: 0, offset: 4096,
                          data: Array(data[4096..<12288]), final: true)
        let next = try h.receive()
        XCTAssertEqual(next.map(\.opcode), [.readyToTransfer])
        guard let second = next.first else { return }
        XCTAssertEqual(second.bufferOffset, 12288)
        XCTAssertEqual(second.desiredLength, 4096)
        XCTAssertEqual(second.r2tSN, 1)
        XCTAssertNotEqual(second.header.targetTransferTag, first.header.targetTransferTag)

        try h.sendDataOut(itt: itt, ttt: second.header.targetTransferTag, dataSN: 0, offset: 12288,
                          data: Array(data[12288...]), final: true)
        let done = try h.receive()
        XCTAssertEqual(done.map(\.opcode), [.scsiResponse])
        XCTAssertEqual(done.first?.status, 0)
        XCTAssertEqual(done.first?.residualCount, 0)
        XCTAssertEqual(try h.read(lba: 64, blocks: 32).data, data)
    }

    func testWriteWithinTheFirstBurstNeedsNoR2T() throws {
        let h = harness!
        let data = pattern(blocks: 8, seed: 32)  // exactly FirstBurstLength
        let itt = try h.sendCommand(CDBs.write10(lba: 3, blocks: 8), write: true, edtl: data.count,
                                    data: Array(data[0..<512]))
        XCTAssertEqual(try h.receive().count, 0)
        try h.sendDataOut(itt: itt, ttt: reservedTag, dataSN: 0, offset: 512, data: Array(data[512...]), final: true)
        let done = try h.receive()
        XCTAssertEqual(done.map(\.opcode), [.scsiResponse])
        XCTAssertEqual(done.first?.status, 0)
        XCTAssertEqual(try h.read(lba: 3, blocks: 8).data, data)
    }

    func testUnsolicitedDataBeyondFirstBurstLengthIsRejected() throws {
        let h = harness!
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 16), write: true, edtl: 8192)
        XCTAssertEqual(try h.receive().map(\.opcode), [.readyToTransfer])
        try h.sendDataOut(itt: itt, ttt: reservedTag, dataSN: 0, offset: 0, data: pattern(blocks: 16, seed: 1),
                          final: true)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.opcode), [.reject])
        XCTAssertEqual(answers.first?.response, RejectReason.protocolError.rawValue)
        XCTAssertTrue(h.isOpen)
    }

    func testWrongUnsolicitedDataSNWhileTheCommandWaitsForItsTurn() throws {
        let h = harness!
        // The command comes ahead of its CmdSN (a gap), its unsolicited Data-Out breaks the
        // sequence: when its turn comes it fails with DATA PHASE ERROR.
        let gap = h.cmdSN
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 8), write: true, edtl: 4096, cmdSN: gap &+ 1)
        try h.sendDataOut(itt: itt, ttt: reservedTag, dataSN: 0, offset: 0, data: pattern(blocks: 4, seed: 1),
                          final: false)
        try h.sendDataOut(itt: itt, ttt: reservedTag, dataSN: 7, offset: 2048, data: pattern(blocks: 4, seed: 2),
                          final: true)
        XCTAssertEqual(try h.receive().count, 0, "nothing until its turn")
        let filler = try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: gap)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.header.initiatorTaskTag), [filler, itt])
        guard answers.count == 2 else { return }
        XCTAssertEqual(answers[0].status, 0)
        XCTAssertEqual(answers[1].status, 0x02)
        XCTAssertEqual(answers[1].sense?.key, 0x0b)
        XCTAssertEqual(answers[1].sense?.asc, 0x4b)
        XCTAssertEqual(answers[1].sense?.ascq, 0x00)
        h.cmdSN = gap &+ 2
        try h.assertWindow(open: 128)
        XCTAssertEqual(try h.read(lba: 0, blocks: 8).data, [UInt8](repeating: 0, count: 4096))
    }

    func testAbortTaskOfAParkedCommandLetsItsCmdSNPass() throws {
        let h = harness!
        let gap = h.cmdSN
        let parked = try h.sendCommand(CDBs.write10(lba: 0, blocks: 1), write: true, edtl: 512,
                                       data: pattern(blocks: 1, seed: 3), cmdSN: gap &+ 1)
        XCTAssertEqual(try h.receive().count, 0)
        let tmf = try h.exchangeOne(InitiatorPDUBuilder.taskManagement(function: .abortTask, itt: h.allocateITT(),
                                                                       referencedTaskTag: parked, refCmdSN: gap &+ 1,
                                                                       cmdSN: gap, expStatSN: h.expStatSN))
        XCTAssertEqual(tmf.opcode, .taskManagementResponse)
        XCTAssertEqual(tmf.response, TaskManagementResponse.functionComplete.rawValue)
        let filler = try h.sendCommand(CDBs.testUnitReady(), edtl: 0, cmdSN: gap)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.header.initiatorTaskTag), [filler], "the aborted write never runs")
        XCTAssertEqual(answers.first?.expCmdSN, gap &+ 2, "its CmdSN passed as a no-op")
        h.cmdSN = gap &+ 2
        try h.assertWindow(open: 128)
        XCTAssertEqual(try h.read(lba: 0, blocks: 1).data, [UInt8](repeating: 0, count: 512))
    }

    func testImmediateDataIsRefusedForAReadAndTheITTMustBeFree() throws {
        let h = harness!
        try h.sendCommand(CDBs.read10(lba: 0, blocks: 1), read: true, edtl: 512, data: [1, 2, 3, 4])
        let refused = try h.receive()
        XCTAssertEqual(refused.map(\.opcode), [.reject])
        XCTAssertEqual(refused.first?.response, RejectReason.protocolError.rawValue)
        // The rejected command did not take its CmdSN: the next command uses it.
        h.cmdSN &-= 1
        try h.assertWindow(open: 128)

        // A second command with the ITT of one in progress.
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 16), write: true, edtl: 8192)
        XCTAssertEqual(try h.receive().map(\.opcode), [.readyToTransfer])
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0, itt: itt)
        let busy = try h.receive()
        XCTAssertEqual(busy.map(\.opcode), [.reject])
        XCTAssertEqual(busy.first?.response, RejectReason.taskInProgress.rawValue)
        XCTAssertTrue(h.isOpen)
    }
}
