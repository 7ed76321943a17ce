import ISCSI
import NIOCore
import XCTest

/// PDU framing on the byte stream: PDUs split across reads and several in one read, and data
/// segments longer than declared.
final class HandlerFramingTests: HandlerTestCase {
    func testPDUsSplitAcrossReadsAndCoalescedInOne() throws {
        let h = harness!
        try h.loginNormal()
        try h.expectPowerOnUnitAttention()
        let data = pattern(blocks: 16, seed: 41)
        let itt = try h.sendCommand(CDBs.write10(lba: 10, blocks: 16), write: true, edtl: data.count)
        let r2t = try XCTUnwrap(h.receive().first)
        XCTAssertEqual(r2t.opcode, .readyToTransfer)
        // Two Data-Out PDUs as one byte stream, fed 777 bytes at a time (cuts inside headers
        // and data segments; the kept data are slices of buffers the handler rebases).
        var stream = h.wire(InitiatorPDUBuilder.dataOut(itt: itt, ttt: r2t.header.targetTransferTag, dataSN: 0,
                                                        offset: 0, expStatSN: h.expStatSN, final: false),
                            data: Array(data[0..<4096]))
        var second = h.wire(InitiatorPDUBuilder.dataOut(itt: itt, ttt: r2t.header.targetTransferTag, dataSN: 1,
                                                        offset: 4096, expStatSN: h.expStatSN, final: true),
                            data: Array(data[4096...]))
        stream.writeBuffer(&second)
        while stream.readableBytes > 0 {
            let piece = stream.readSlice(length: min(777, stream.readableBytes))!
            try h.sendRaw(piece)
            if stream.readableBytes > 0 { XCTAssertEqual(try h.receive().count, 0) }
        }
        let done = try h.receive()
        XCTAssertEqual(done.map(\.opcode), [.scsiResponse])
        XCTAssertEqual(done.first?.status, 0)

        // Three commands in one read: three answers, in order.
        let tags = [h.allocateITT(), h.allocateITT(), h.allocateITT()]
        var batch = ByteBuffer()
        for tag in tags {
            var one = h.wire(InitiatorPDUBuilder.scsiCommand(itt: tag, cmdSN: h.cmdSN, expStatSN: h.expStatSN,
                                                             read: true, write: false, edtl: 512,
                                                             cdb: CDBs.read10(lba: 10, blocks: 1)))
            h.cmdSN &+= 1
            batch.writeBuffer(&one)
        }
        try h.sendRaw(batch)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.header.initiatorTaskTag), tags)
        for answer in answers {
            XCTAssertEqual(answer.opcode, .dataIn)
            XCTAssertEqual(answer.dataBytes, Array(data[0..<512]))
        }
        XCTAssertEqual(try h.read(lba: 10, blocks: 16).data, data)
    }

    func testDataSegmentLongerThanDeclaredIsRejectedAndCloses() throws {
        let h = harness!
        try h.loginNormal()  // the target declared MaxRecvDataSegmentLength=262144
        var header = InitiatorPDUBuilder.nopOut(itt: 0x21, cmdSN: h.cmdSN, expStatSN: h.expStatSN)
        header.dataSegmentLength = 262_148
        var bytes = ByteBuffer()
        header.write(to: &bytes)  // the header alone is enough to refuse it
        try h.sendRaw(bytes)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.opcode), [.reject])
        XCTAssertEqual(answers.first?.response, RejectReason.protocolError.rawValue)
        XCTAssertEqual(answers.first.flatMap { BasicHeaderSegment.peek(from: $0.data)?.dataSegmentLength }, 262_148)
        XCTAssertFalse(h.isOpen)
    }

    func testLoginRequestLongerThan8192BytesIsRejectedAndCloses() throws {
        let h = harness!
        let (req, _) = h.loginRequest(csg: 1, nsg: 3, transit: true, keys: [])
        let padding = [UInt8](repeating: UInt8(ascii: "a"), count: 8200)
        try h.send(req, data: padding)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.opcode), [.reject], "the login limit is the RFC default 8192")
        XCTAssertEqual(answers.first?.response, RejectReason.protocolError.rawValue)
        XCTAssertFalse(h.isOpen)
    }

    func testSNACKIsRejectedAtErrorRecoveryLevel0() throws {
        let h = harness!
        try h.loginNormal()
        let snack = BasicHeaderSegment(opcodeByte: InitiatorOpcode.snackRequest.rawValue, flags: 0x80,
                                       initiatorTaskTag: 0x61, word20: reservedTag, word28: h.expStatSN)
        let answers = try h.exchange(snack)
        XCTAssertEqual(answers.map(\.opcode), [.reject])
        XCTAssertEqual(answers.first?.response, RejectReason.protocolError.rawValue)
        XCTAssertTrue(h.isOpen)
    }

    func testUnknownOpcodeIsRejectedAsNotSupported() throws {
        let h = harness!
        try h.loginNormal()
        let odd = BasicHeaderSegment(opcodeByte: 0x1c, flags: 0x80, initiatorTaskTag: 0x62)
        let answers = try h.exchange(odd)
        XCTAssertEqual(answers.map(\.opcode), [.reject])
        XCTAssertEqual(answers.first?.response, RejectReason.commandNotSupported.rawValue)
        XCTAssertTrue(h.isOpen)
    }
}
