import ISCSI
import NIOCore
import XCTest

/// CRC32C header and data digests: negotiated, used both ways, and what a wrong one does.
final class HandlerDigestTests: HandlerTestCase {
    override func setUpWithError() throws {
        var offer = TargetOffer()
        offer.headerDigests = [.crc32c, .none]
        offer.dataDigests = [.crc32c, .none]
        try makeHarness(offer: offer)
    }

    private func loginWithDigests() throws {
        let responses = try harness.loginNormal(keys: HandlerHarness.operationalKeys([
            ("HeaderDigest", "CRC32C,None"), ("DataDigest", "CRC32C,None"),
        ]))
        let final = try XCTUnwrap(responses.last)
        XCTAssertEqual(final.keys["HeaderDigest"], "CRC32C")
        XCTAssertEqual(final.keys["DataDigest"], "CRC32C")
        XCTAssertTrue(harness.headerDigest && harness.dataDigest, "digests from the first PDU after the login")
        try harness.expectPowerOnUnitAttention()
    }

    func testCommandsWorkWithDigests() throws {
        try loginWithDigests()
        let h = harness!
        // Every PDU below is parsed with both digests checked: R2T (header only), the SCSI
        // Responses, Data-In of 8 KiB (header, data, digest trailer in separate buffers) and a
        // small NOP-In with data (one buffer).
        let data = pattern(blocks: 48, seed: 21)
        let response = try h.write(lba: 16, data: data)
        XCTAssertEqual(response.status, 0)
        let (read, pdus) = try h.read(lba: 16, blocks: 48)
        XCTAssertEqual(read, data)
        XCTAssertEqual(pdus.count, 3)
        let nop = try h.exchangeOne(InitiatorPDUBuilder.nopOut(itt: 0x77, cmdSN: h.cmdSN, expStatSN: h.expStatSN),
                                    data: [1, 2, 3, 4, 5])
        XCTAssertEqual(nop.opcode, .nopIn)
        XCTAssertEqual(nop.dataBytes, [1, 2, 3, 4, 5])
        XCTAssertEqual(h.leftoverBytes, 0)
    }

    func testWrongDataDigestOnDataOutIsRejectedAndTheConnectionCloses() throws {
        try loginWithDigests()
        let h = harness!
        let itt = try h.sendCommand(CDBs.write10(lba: 0, blocks: 8), write: true, edtl: 4096)
        let r2ts = try h.receive()
        XCTAssertEqual(r2ts.map(\.opcode), [.readyToTransfer])
        guard let r2t = r2ts.first else { return }
        let statSNBefore = h.expStatSN
        try h.sendDataOut(itt: itt, ttt: r2t.header.targetTransferTag, dataSN: 0, offset: 0,
                          data: pattern(blocks: 8, seed: 1), final: true, corruptDataDigest: true)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.opcode), [.reject], "a Reject, no SCSI Response")
        guard let reject = answers.first else { return }
        XCTAssertEqual(reject.response, RejectReason.dataDigestError.rawValue)
        XCTAssertEqual(reject.header.initiatorTaskTag, reservedTag)
        XCTAssertEqual(reject.statSN, statSNBefore)
        let echoed = try XCTUnwrap(BasicHeaderSegment.peek(from: reject.data))
        XCTAssertEqual(echoed.initiatorOpcode, .dataOut)
        XCTAssertEqual(echoed.initiatorTaskTag, itt)
        XCTAssertEqual(echoed.dataSegmentLength, 4096)
        // At ErrorRecoveryLevel 0 the command cannot be recovered: the connection goes.
        XCTAssertFalse(h.isOpen)
    }

    func testWrongDataDigestOnNopOutIsRejectedAndTheConnectionStays() throws {
        try loginWithDigests()
        let h = harness!
        try h.send(InitiatorPDUBuilder.nopOut(itt: 0x31, cmdSN: h.cmdSN, expStatSN: h.expStatSN),
                   data: [9, 9, 9, 9], corruptDataDigest: true)
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.opcode), [.reject])
        XCTAssertEqual(answers.first?.response, RejectReason.dataDigestError.rawValue)
        XCTAssertEqual(answers.first.flatMap { BasicHeaderSegment.peek(from: $0.data)?.initiatorTaskTag }, 0x31)
        XCTAssertTrue(h.isOpen)
        // The PDU boundary held: the next PDU is read as usual.
        let nop = try h.exchangeOne(InitiatorPDUBuilder.nopOut(itt: 0x32, cmdSN: h.cmdSN, expStatSN: h.expStatSN),
                                    data: [7, 7, 7, 7])
        XCTAssertEqual(nop.opcode, .nopIn)
        XCTAssertEqual(nop.header.initiatorTaskTag, 0x32)
    }

    func testWrongHeaderDigestClosesTheConnection() throws {
        try loginWithDigests()
        let h = harness!
        try h.send(InitiatorPDUBuilder.scsiCommand(itt: 0x40, cmdSN: h.cmdSN, expStatSN: h.expStatSN, read: false,
                                                   write: false, edtl: 0, cdb: CDBs.testUnitReady()),
                   corruptHeaderDigest: true)
        XCTAssertEqual(try h.receive().count, 0, "nothing is answered to a header that cannot be trusted")
        XCTAssertFalse(h.isOpen)
    }

    func testTargetRequiringDigestsRefusesALoginWithout() throws {
        var offer = TargetOffer()
        offer.headerDigests = [.crc32c]
        try makeHarness(offer: offer)
        let h = harness!
        let keys: [(String, String)] = [("InitiatorName", HandlerHarness.initiatorName), ("SessionType", "Normal"),
                                        ("TargetName", HandlerHarness.targetName)]
            + HandlerHarness.operationalKeys()  // HeaderDigest=None
        let (req, data) = h.loginRequest(csg: 1, nsg: 3, transit: true, keys: keys)
        let r = try h.exchangeOne(req, data: data)
        XCTAssertEqual(r.loginStatus.0, 2)
        XCTAssertEqual(r.loginStatus.1, 0, "initiator error")
        XCTAssertFalse(h.isOpen)
    }
}
