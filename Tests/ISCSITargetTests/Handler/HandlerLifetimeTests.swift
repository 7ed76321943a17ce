import ISCSI
import NIOCore
import NIOEmbedded
import XCTest

@testable import ISCSITarget

/// A closed connection's handler is freed: nothing it scheduled or registered, and not the
/// pipeline's context, keeps it (its receive buffers, tasks and session state) alive after
/// the connection is gone. Before the fix every connection leaked this way.
final class HandlerLifetimeTests: HandlerTestCase {
    /// Runs `body` on the harness, ends the connection, drops the harness, and reports
    /// whether the handler is still alive.
    private func handlerSurvives(_ body: (HandlerHarness) throws -> Void) throws -> Bool {
        weak var weakHandler: ConnectionHandler?
        do {
            let h = harness!
            weakHandler = try h.channel.pipeline.syncOperations.handler(type: ConnectionHandler.self)
            try body(h)
            h.finish()
            harness = nil
        }
        return weakHandler != nil
    }

    func testAConnectionThatNeverLogsInIsFreed() throws {
        XCTAssertFalse(try handlerSurvives { _ in })
    }

    func testALoggedInSessionIsFreed() throws {
        XCTAssertFalse(try handlerSurvives { h in try h.loginNormal() })
    }

    func testASessionDroppedByItsPingTimeoutIsFreed() throws {
        XCTAssertFalse(try handlerSurvives { h in
            try h.loginNormal()
            try h.send(InitiatorPDUBuilder.nopOut(itt: 0x40, cmdSN: h.cmdSN, expStatSN: h.expStatSN))
            _ = try h.receive()
            h.channel.embeddedEventLoop.advanceTime(by: .seconds(40))
            _ = try h.receive()
        })
    }

    func testASessionClosedWithAWriteWaitingForItsDataIsFreed() throws {
        XCTAssertFalse(try handlerSurvives { h in
            try h.loginNormal()
            try h.expectPowerOnUnitAttention()
            try h.sendCommand(CDBs.write10(lba: 0, blocks: 8), write: true, edtl: 8 * HandlerHarness.blockSize)
            XCTAssertEqual(try h.receive().map(\.opcode), [.readyToTransfer])
        })
    }
}
