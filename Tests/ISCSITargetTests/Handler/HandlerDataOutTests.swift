import ISCSI
import NIOCore
import XCTest

/// Writes with InitialR2T=Yes and ImmediateData=No: R2T sequences, Data-Out, status, the data
/// on the medium; and a broken Data-Out sequence.
final class HandlerDataOutTests: HandlerTestCase {
    override func setUpWithError() throws {
        var offer = TargetOffer()
        offer.maxOutstandingR2T = 4
        try makeHarness(offer: offer)
    }

    private func login(maxOutstandingR2T: Int) throws {
        let responses = try harness.loginNormal(keys: HandlerHarness.operationalKeys([
            ("MaxBurstLength", "8192"), ("FirstBurstLength", "8192"), ("MaxOutstandingR2T", "\(maxOutstandingR2T)"),
        ]))
        XCTAssertEqual(responses.last?.keys["MaxOutstandingR2T"], "\(maxOutstandingR2T)")
        XCTAssertEqual(responses.last?.keys["InitialR2T"], "Yes")
        XCTAssertEqual(responses.last?.keys["ImmediateData"], "No")
        XCTAssertEqual(responses.last?.keys["MaxBurstLength"], "8192")
        try harness.expectPowerOnUnitAttention()
    }

    private func assertR2T(_ pdu: PDU, itt: UInt32, offset: UInt32, length: UInt32, r2tSN: UInt32,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(pdu.opcode, .readyToTransfer, file: file, line: line)
        XCTAssertEqual(pdu.header.initiatorTaskTag, itt, file: file, line: line)
        XCTAssertEqual(pdu.bufferOffset, offset, "offset", file: file, line: line)
        XCTAssertEqual(pdu.desiredLength, length, "desired length", file: file, line: line)
        XCTAssertEqual(pdu.r2tSN, r2tSN, "R2TSN", file: file, line: line)
        XCTAssertNotEqual(pdu.header.targetTransferTag, reservedTag, file: file, line: line)
        XCTAssertTrue(pdu.header.isFinal, file: file, line: line)
        XCTAssertEqual(pdu.statSN, harness.expStatSN, "an R2T reports the next StatSN without using it",
                       file: file, line: line)
    }

    /// Sends one R2T's burst as two Data-Out PDUs (DataSN 0 and 1, F on the second).
    private func answer(_ r2t: PDU, itt: UInt32, data: [UInt8]) throws {
        let offset = Int(r2t.bufferOffset), length = Int(r2t.desiredLength)
        let half = length / 2
        try harness.sendDataOut(itt: itt, ttt: r2t.header.targetTransferTag, dataSN: 0, offset: offset,
                                data: Array(data[offset..<offset + half]), final: false)
        XCTAssertEqual(try harness.receive().count, 0, "nothing answers a Data-Out without F")
        try harness.sendDataOut(itt: itt, ttt: r2t.header.targetTransferTag, dataSN: 1, offset: offset + half,
                                data: Array(data[offset + half..<offset + length]), final: true)
    }

    private func assertGood(_ pdu: PDU?, itt: UInt32, file: StaticString = #filePath, line: UInt = #line) {
        guard let pdu else { return XCTFail("no SCSI response", file: file, line: line) }
        XCTAssertEqual(pdu.opcode, .scsiResponse, file: file, line: line)
        XCTAssertEqual(pdu.header.initiatorTaskTag, itt, file: file, line: line)
        XCTAssertEqual(pdu.status, 0, "GOOD", file: file, line: line)
        XCTAssertEqual(pdu.response, 0, "command completed at target", file: file, line: line)
        XCTAssertFalse(pdu.residualUnderflow || pdu.residualOverflow, file: file, line: line)
        XCTAssertEqual(pdu.residualCount, 0, file: file, line: line)
        XCTAssertEqual(pdu.expCmdSN, harness.cmdSN, file: file, line: line)
        // The response's own MaxCmdSN lags by one (see HandlerCommandWindowTests); the
        // window is open again from the next PDU on.
        XCTAssertGreaterThanOrEqual(pdu.maxCmdSN, harness.cmdSN &+ 126, file: file, line: line)
        do {
            try harness.assertWindow(open: 128, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testWriteWithOneOutstandingR2T() throws {
        try login(maxOutstandingR2T: 1)
        let h = harness!
        let data = pattern(blocks: 64, seed: 3)  // 32 KiB: four bursts of 8 KiB
        let itt = try h.sendCommand(CDBs.write10(lba: 100, blocks: 64), write: true, edtl: data.count)
        var r2ts = try h.receive()
        XCTAssertEqual(r2ts.count, 1, "one R2T at a time")
        var tags: Set<UInt32> = []
        for burst in 0..<4 {
            guard r2ts.count == 1 else { return XCTFail("burst \(burst): \(r2ts.map(\.summary))") }
            let r2t = r2ts[0]
            assertR2T(r2t, itt: itt, offset: UInt32(burst * 8192), length: 8192, r2tSN: UInt32(burst))
            XCTAssertEqual(r2t.expCmdSN, h.cmdSN)
            XCTAssertEqual(r2t.maxCmdSN, h.cmdSN &+ 126, "the write holds a place in the window")
            tags.insert(r2t.header.targetTransferTag)
            try answer(r2t, itt: itt, data: data)
            r2ts = try h.receive()
            if burst == 3 {
                XCTAssertEqual(r2ts.count, 1)
                XCTAssertEqual(r2ts.first?.statSN, h.expStatSN &- 1)
                assertGood(r2ts.first, itt: itt)
            }
        }
        XCTAssertEqual(tags.count, 4, "each R2T has its own TTT")

        let (read, pdus) = try h.read(lba: 100, blocks: 64)
        XCTAssertEqual(read, data)
        // MaxBurstLength 8192 and the initiator's MaxRecvDataSegmentLength 8192: four Data-In,
        // each ending a burst (F), the last with the status (S).
        XCTAssertEqual(pdus.map(\.opcode), [.dataIn, .dataIn, .dataIn, .dataIn])
        XCTAssertEqual(pdus.map { $0.header.flags & 0x81 }, [0x80, 0x80, 0x80, 0x81])
        XCTAssertEqual(pdus.map(\.header.word36), [0, 1, 2, 3], "DataSN")
        XCTAssertEqual(pdus.last?.status, 0)
        // Data around the write is untouched.
        XCTAssertEqual(try h.read(lba: 99, blocks: 1).data, [UInt8](repeating: 0, count: 512))
        XCTAssertEqual(try h.read(lba: 164, blocks: 1).data, [UInt8](repeating: 0, count: 512))
    }

    func testWriteWithTwoOutstandingR2Ts() throws {
        try login(maxOutstandingR2T: 2)
        let h = harness!
        let data = pattern(blocks: 64, seed: 9)
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 64), write: true, edtl: data.count)
        let first = try h.receive()
        XCTAssertEqual(first.count, 2, "two R2Ts up front")
        guard first.count == 2 else { return }
        assertR2T(first[0], itt: itt, offset: 0, length: 8192, r2tSN: 0)
        assertR2T(first[1], itt: itt, offset: 8192, length: 8192, r2tSN: 1)
        XCTAssertNotEqual(first[0].header.targetTransferTag, first[1].header.targetTransferTag)

        // Completing the first burst lets a third R2T out; the second is still outstanding.
        try answer(first[0], itt: itt, data: data)
        let third = try h.receive()
        XCTAssertEqual(third.count, 1)
        guard third.count == 1 else { return }
        assertR2T(third[0], itt: itt, offset: 16384, length: 8192, r2tSN: 2)

        try answer(first[1], itt: itt, data: data)
        let fourth = try h.receive()
        XCTAssertEqual(fourth.count, 1)
        guard fourth.count == 1 else { return }
        assertR2T(fourth[0], itt: itt, offset: 24576, length: 8192, r2tSN: 3)

        try answer(third[0], itt: itt, data: data)
        XCTAssertEqual(try h.receive().count, 0, "no R2T left to send, one burst still to come")
        try answer(fourth[0], itt: itt, data: data)
        let done = try h.receive()
        XCTAssertEqual(done.count, 1)
        assertGood(done.first, itt: itt)

        XCTAssertEqual(try h.read(lba: 0, blocks: 64).data, data)
    }

    func testShortLastBurst() throws {
        try login(maxOutstandingR2T: 1)
        let h = harness!
        let data = pattern(blocks: 20, seed: 1)  // 10 KiB: 8 KiB then 2 KiB
        let itt = try h.sendCommand(CDBs.write10(lba: 7, blocks: 20), write: true, edtl: data.count)
        let r1 = try h.receive()
        XCTAssertEqual(r1.count, 1)
        guard let first = r1.first else { return }
        assertR2T(first, itt: itt, offset: 0, length: 8192, r2tSN: 0)
        try answer(first, itt: itt, data: data)
        let r2 = try h.receive()
        XCTAssertEqual(r2.count, 1)
        guard let second = r2.first else { return }
        assertR2T(second, itt: itt, offset: 8192, length: 2048, r2tSN: 1)
        try answer(second, itt: itt, data: data)
        assertGood(try h.receive().first, itt: itt)
        XCTAssertEqual(try h.read(lba: 7, blocks: 20).data, data)
    }

    func testWriteShorterThanExpectedLengthReportsOverflowResidual() throws {
        try login(maxOutstandingR2T: 1)
        let h = harness!
        // The CDB asks for 2 blocks, the initiator expects to send 1: the target asks for 512
        // bytes only and reports a residual overflow of 512.
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 2), write: true, edtl: 512)
        let r2t = try h.receive()
        XCTAssertEqual(r2t.count, 1)
        guard let first = r2t.first else { return }
        assertR2T(first, itt: itt, offset: 0, length: 512, r2tSN: 0)
        try h.sendDataOut(itt: itt, ttt: first.header.targetTransferTag, dataSN: 0, offset: 0,
                          data: pattern(blocks: 1, seed: 4), final: true)
        let r = try h.receive()
        XCTAssertEqual(r.count, 1)
        XCTAssertEqual(r.first?.status, 0)
        XCTAssertEqual(r.first?.residualOverflow, true)
        XCTAssertEqual(r.first?.residualCount, 512)
    }

    func testWrongDataSNFailsTheCommandWithDataPhaseError() throws {
        try login(maxOutstandingR2T: 1)
        let h = harness!
        let old = pattern(blocks: 16, seed: 5)
        assertGood(try h.write(lba: 40, data: old), itt: h.nextITT &- 1)

        let new = pattern(blocks: 16, seed: 6)
        let itt = try h.sendCommand(CDBs.write10(lba: 40, blocks: 16), write: true, edtl: new.count)
        let r2ts = try h.receive()
        XCTAssertEqual(r2ts.count, 1)
        guard let r2t = r2ts.first else { return }
        let ttt = r2t.header.targetTransferTag
        try h.sendDataOut(itt: itt, ttt: ttt, dataSN: 0, offset: 0, data: Array(new[0..<4096]), final: false)
        XCTAssertEqual(try h.receive().count, 0)
        // DataSN 2 where 1 is due.
        try h.sendDataOut(itt: itt, ttt: ttt, dataSN: 2, offset: 4096, data: Array(new[4096..<8192]), final: true)
        let failed = try h.receive()
        XCTAssertEqual(failed.count, 1)
        guard let response = failed.first else { return }
        XCTAssertEqual(response.opcode, .scsiResponse)
        XCTAssertEqual(response.header.initiatorTaskTag, itt)
        XCTAssertEqual(response.status, 0x02, "CHECK CONDITION")
        XCTAssertEqual(response.sense?.key, 0x0b, "ABORTED COMMAND")
        XCTAssertEqual(response.sense?.asc, 0x4b, "DATA PHASE ERROR")
        XCTAssertEqual(response.sense?.ascq, 0x00)
        XCTAssertTrue(response.residualUnderflow)
        XCTAssertEqual(response.residualCount, UInt32(new.count))
        try h.assertWindow(open: 128)  // the failed command gave its place back

        // The rest of the sequence is ignored; nothing was written; the connection goes on.
        try h.sendDataOut(itt: itt, ttt: ttt, dataSN: 1, offset: 4096, data: Array(new[4096..<8192]), final: true)
        XCTAssertEqual(try h.receive().count, 0)
        XCTAssertTrue(h.isOpen)
        XCTAssertEqual(try h.read(lba: 40, blocks: 16).data, old)
    }

    func testDataOutWithAnUnknownTargetTransferTagIsRejected() throws {
        try login(maxOutstandingR2T: 1)
        let h = harness!
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 1), write: true, edtl: 512)
        let r2t = try h.receive()
        XCTAssertEqual(r2t.count, 1)
        guard let first = r2t.first else { return }
        try h.sendDataOut(itt: itt, ttt: first.header.targetTransferTag &+ 100, dataSN: 0, offset: 0,
                          data: pattern(blocks: 1, seed: 2), final: true)
        let reject = try h.receive()
        XCTAssertEqual(reject.map(\.opcode), [.reject])
        XCTAssertEqual(reject.first?.response, RejectReason.protocolError.rawValue)
        XCTAssertEqual(reject.first?.data.readableBytes, 48, "the offending header comes back")
        XCTAssertEqual(reject.first.flatMap { BasicHeaderSegment.peek(from: $0.data)?.initiatorTaskTag }, itt)
        // The right tag still completes the command.
        try h.sendDataOut(itt: itt, ttt: first.header.targetTransferTag, dataSN: 0, offset: 0,
                          data: pattern(blocks: 1, seed: 2), final: true)
        assertGood(try h.receive().first, itt: itt)
    }
}
