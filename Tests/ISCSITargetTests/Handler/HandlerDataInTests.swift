import ISCSI
import NIOCore
import XCTest

/// Data-In residuals, CHECK CONDITION for a bad LBA, and the server asking for a logout.
final class HandlerDataInTests: HandlerTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try harness.loginNormal()
        try harness.expectPowerOnUnitAttention()
    }

    func testReadResiduals() throws {
        let h = harness!
        let data = pattern(blocks: 2, seed: 51)
        XCTAssertEqual(try h.write(lba: 5, data: data).status, 0)

        // The initiator expects less than the CDB asks for: overflow.
        try h.sendCommand(CDBs.read10(lba: 5, blocks: 2), read: true, edtl: 512)
        let short = try h.receive()
        XCTAssertEqual(short.map(\.opcode), [.dataIn])
        XCTAssertEqual(short.first?.dataBytes, Array(data[0..<512]))
        XCTAssertEqual(short.first.map { $0.header.flags & 0x07 }, 0x05, "S and O")
        XCTAssertEqual(short.first?.residualCount, 512)

        // More than it asks for: underflow.
        try h.sendCommand(CDBs.read10(lba: 5, blocks: 2), read: true, edtl: 4096)
        let long = try h.receive()
        XCTAssertEqual(long.map(\.opcode), [.dataIn])
        XCTAssertEqual(long.first?.dataBytes, data)
        XCTAssertEqual(long.first.map { $0.header.flags & 0x07 }, 0x03, "S and U")
        XCTAssertEqual(long.first?.residualCount, 3072)
    }

    func testReadBeyondTheLastBlockIsACheckCondition() throws {
        let h = harness!
        let itt = try h.sendCommand(CDBs.read10(lba: UInt32(HandlerHarness.blockCount) - 1, blocks: 2), read: true,
                                    edtl: 1024)
        let r = try h.receive()
        XCTAssertEqual(r.map(\.opcode), [.scsiResponse])
        guard let response = r.first else { return }
        XCTAssertEqual(response.header.initiatorTaskTag, itt)
        XCTAssertEqual(response.status, 0x02)
        XCTAssertEqual(response.sense?.key, 0x05, "ILLEGAL REQUEST")
        XCTAssertEqual(response.sense?.asc, 0x21, "LOGICAL BLOCK ADDRESS OUT OF RANGE")
        XCTAssertTrue(response.residualUnderflow)
        XCTAssertEqual(response.residualCount, 1024)
        try h.assertWindow(open: 128)
    }

    func testServerShutdownAsksForALogout() throws {
        let h = harness!
        let handles = h.registry.connectionHandles
        XCTAssertEqual(handles.count, 1)
        handles.first?.requestLogout()
        h.channel.embeddedEventLoop.run()
        let r = try h.receive()
        XCTAssertEqual(r.map(\.opcode), [.asyncMessage])
        guard let message = r.first else { return }
        XCTAssertEqual(message.header.initiatorTaskTag, reservedTag)
        XCTAssertEqual(message.header.word36 >> 24, 1, "AsyncEvent 1: the target requests a logout")
        XCTAssertEqual(message.header.word40 & 0xffff, 2, "Parameter3: Time2Wait")
        XCTAssertEqual(message.expCmdSN, h.cmdSN)
        // The initiator logs out.
        let logout = try h.exchangeOne(InitiatorPDUBuilder.logout(reason: 0, itt: 0x90, cid: 1, cmdSN: h.cmdSN,
                                                                  expStatSN: h.expStatSN))
        XCTAssertEqual(logout.opcode, .logoutResponse)
        XCTAssertEqual(logout.response, 0)
        XCTAssertFalse(h.isOpen)
        XCTAssertEqual(h.registry.connectionHandles.count, 0, "the connection left the registry")
    }
}

/// Reads wait while the channel is not writable (the peer does not drain its socket), keep
/// their order, and go out when it is writable again.
final class HandlerOutputBackpressureTests: HandlerTestCase {
    func testReadsWaitWhileTheChannelIsNotWritable() throws {
        let h = harness!
        try h.loginNormal()
        try h.expectPowerOnUnitAttention()
        let data = pattern(blocks: 4, seed: 9)
        XCTAssertEqual(try h.write(lba: 20, data: data).status, 0)

        h.channel.isWritable = false
        h.channel.pipeline.fireChannelWritabilityChanged()
        let first = try h.sendCommand(CDBs.read10(lba: 20, blocks: 2), read: true, edtl: 1024)
        let second = try h.sendCommand(CDBs.read10(lba: 22, blocks: 2), read: true, edtl: 1024)
        XCTAssertEqual(try h.receive().count, 0, "no read starts while the peer does not drain")
        try h.send(InitiatorPDUBuilder.nopOut(itt: 0x77, cmdSN: h.cmdSN, expStatSN: h.expStatSN))
        XCTAssertEqual(try h.receive().map(\.opcode), [.nopIn], "the connection itself still answers")

        h.channel.isWritable = true
        h.channel.pipeline.fireChannelWritabilityChanged()
        let answers = try h.receive()
        XCTAssertEqual(answers.map(\.header.initiatorTaskTag), [first, second], "in their order")
        XCTAssertEqual(answers.flatMap(\.dataBytes), data)
    }

    /// Responses that complete outside a read batch (here: reads released by the channel
    /// becoming writable) leave in one flush after that batch, not one flush each.
    func testResponsesCompletedTogetherLeaveInOneFlush() throws {
        let h = harness!
        try h.loginNormal()
        try h.expectPowerOnUnitAttention()
        let flushes = FlushCounter()
        try h.channel.pipeline.syncOperations.addHandler(flushes, position: .first)
        h.channel.isWritable = false
        h.channel.pipeline.fireChannelWritabilityChanged()
        let itts = try (0..<6).map { i in
            try h.sendCommand(CDBs.read10(lba: UInt32(i * 2), blocks: 2), read: true, edtl: 1024)
        }
        XCTAssertEqual(try h.receive().count, 0)
        let before = flushes.count
        h.channel.isWritable = true
        h.channel.pipeline.fireChannelWritabilityChanged()
        XCTAssertEqual(flushes.count, before, "nothing flushed while the completions are still coming")
        XCTAssertEqual(try h.receive().map(\.header.initiatorTaskTag), itts)
        XCTAssertEqual(flushes.count, before + 1, "all six answers in one flush")
    }
}

/// Counts the flushes that pass it on their way to the socket.
private final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var count = 0

    func flush(context: ChannelHandlerContext) {
        count += 1
        context.flush()
    }
}
