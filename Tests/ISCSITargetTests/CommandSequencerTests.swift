import ISCSI
import NIOConcurrencyHelpers
import NIOCore
@testable import ISCSITarget
import XCTest

/// The session-wide CmdSN window of MC/S: in-order release across connections, a SCSI
/// command's place taken as ExpCmdSN passes it (so MaxCmdSN never moves backwards), and a lost
/// connection's parked commands passing as no-ops.
final class CommandSequencerTests: XCTestCase {
    private func command(_ cmdSN: UInt32, itt: UInt32, opcode: UInt8 = 0x01) -> PDU {
        PDU(header: BasicHeaderSegment(opcodeByte: opcode, flags: 0x80, initiatorTaskTag: itt, word24: cmdSN))
    }

    /// The CmdSNs delivered by an arrival: its own, then the ones it unblocked.
    private func delivered(_ arrival: CommandSequencer.Arrival, _ cmdSN: UInt32) -> [UInt32] {
        guard case let .deliver(unblocked) = arrival else { return [] }
        return [cmdSN] + unblocked.map { $0.item.cmdSN }
    }

    func testMaxCmdSNNeverMovesBackwards() {
        let sequencer = CommandSequencer(firstCmdSN: 10, window: 4)
        XCTAssertTrue(sequencer.numbers == (10, 13))
        XCTAssertEqual(delivered(sequencer.arrive(command(10, itt: 1), connection: 1), 10), [10])
        XCTAssertTrue(sequencer.numbers == (11, 13), "the command holds its place from the moment it is released")
        XCTAssertEqual(delivered(sequencer.arrive(command(12, itt: 2), connection: 2), 12), [], "12 waits for 11")
        XCTAssertEqual(delivered(sequencer.arrive(command(11, itt: 3), connection: 1), 11), [11, 12])
        XCTAssertTrue(sequencer.numbers == (13, 13))
        guard case .outOfWindow = sequencer.arrive(command(14, itt: 4), connection: 1) else {
            return XCTFail("14 is past MaxCmdSN 13")
        }
        sequencer.commandEnded()
        XCTAssertTrue(sequencer.numbers == (13, 14), "an answer opens the window by one")
        // A NOP-Out with a CmdSN passes without taking a place.
        XCTAssertEqual(delivered(sequencer.arrive(command(13, itt: 5, opcode: 0x00), connection: 2), 13), [13])
        XCTAssertTrue(sequencer.numbers == (14, 15), "ExpCmdSN passes it; the two commands still hold theirs")
    }

    func testRequestsGoToTheirOwnConnections() {
        let sequencer = CommandSequencer(firstCmdSN: 1, window: 8)
        let seen = NIOLockedValueBox<[UInt32]>([])
        sequencer.attach(connection: 2) { item in seen.withLockedValue { $0.append(item.cmdSN) } }
        _ = sequencer.arrive(command(2, itt: 1), connection: 2)
        guard case let .deliver(unblocked) = sequencer.arrive(command(1, itt: 2), connection: 1) else { return XCTFail() }
        let mine = sequencer.handOff(unblocked, from: 1)
        XCTAssertEqual(mine.map(\.cmdSN), [], "1 is the caller's to run; 2 is not its own")
        XCTAssertEqual(seen.withLockedValue { $0 }, [2], "and hands 2 to connection 2")
    }

    func testALostConnectionsParkedCommandsPassAsNoOps() {
        let sequencer = CommandSequencer(firstCmdSN: 5, window: 8)
        let seen = NIOLockedValueBox<[UInt32]>([])
        sequencer.attach(connection: 1) { item in seen.withLockedValue { $0.append(item.cmdSN) } }
        sequencer.attach(connection: 2) { _ in XCTFail("the lost connection gets nothing") }
        _ = sequencer.arrive(command(6, itt: 1), connection: 2)   // parked on 2
        _ = sequencer.arrive(command(7, itt: 2), connection: 1)   // parked on 1
        XCTAssertEqual(sequencer.detach(connection: 2), 1)
        guard case let .deliver(ready) = sequencer.arrive(command(5, itt: 3), connection: 1) else { return XCTFail() }
        XCTAssertEqual(ready.map(\.item.cmdSN), [6, 7], "5 (the caller's) unblocks 6, a no-op, and 7")
        guard case .skipped(cmdSN: 6, itt: 1) = ready[0].item else { return XCTFail("6 passes as a no-op") }
        guard case .request = ready[1].item else { return XCTFail("7 runs") }
        XCTAssertTrue(sequencer.numbers == (8, 8 + 8 - 2 - 1), "5 and 7 hold places; the no-op does not")
    }
}

extension CommandSequencerTests {
    func testAbortedAheadCmdSNCountsAsReceived() {
        let sequencer = CommandSequencer(firstCmdSN: 20, window: 8)
        XCTAssertEqual(sequencer.markReceived(20, itt: 9).map(\.item.cmdSN), [20], "passes at once as a no-op")
        XCTAssertTrue(sequencer.numbers == (21, 28), "and holds no place")
        guard case .outOfWindow = sequencer.arrive(PDU(header: BasicHeaderSegment(opcodeByte: 0x01, initiatorTaskTag: 9,
                                                                                  word24: 20)), connection: 1) else {
            return XCTFail("the late command is behind the window")
        }
        XCTAssertEqual(sequencer.markReceived(22, itt: 10).count, 0, "22 waits for 21")
        guard case .duplicate = sequencer.arrive(PDU(header: BasicHeaderSegment(opcodeByte: 0x01, initiatorTaskTag: 10,
                                                                                word24: 22)), connection: 1) else {
            return XCTFail("22 counts as received already")
        }
    }
}
