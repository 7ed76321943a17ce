import SCSI
import XCTest

/// TEST UNIT READY, REQUEST SENSE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL.
final class UnitControlTests: XCTestCase {
    func testTestUnitReady() {
        XCTAssertEqual(decode([0x00, 0, 0, 0, 0, 0]), .good)
        var stopped = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertEqual(decode([0x00, 0, 0, 0, 0, 0], state: &stopped), .checkCondition(.notReadyInitializingCommandRequired))
    }

    func testRequestSense() {
        XCTAssertEqual(dataIn(decode([0x03, 0, 0, 0, 252, 0])), SenseData.noSense.fixedFormat())
        XCTAssertEqual(dataIn(decode([0x03, 0, 0, 0, 252, 0])).count, 18)
        XCTAssertEqual(dataIn(decode([0x03, 0x01, 0, 0, 252, 0])), [0x72, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(dataIn(decode([0x03, 0, 0, 0, 8, 0])), Array(SenseData.noSense.fixedFormat().prefix(8)))
        XCTAssertEqual(dataIn(decode([0x03, 0, 0, 0, 0, 0])), [])

        var stopped = Fixture.ready(LogicalUnitState(stopped: true))
        let sense = dataIn(decode([0x03, 0, 0, 0, 18, 0], state: &stopped))
        XCTAssertEqual([sense[0], sense[2], sense[12], sense[13]], [0x70, 0x02, 0x04, 0x02])
    }

    func testStopAndStart() {
        var state = Fixture.ready(LogicalUnitState())
        // START=0, NO_FLUSH=0: stop and flush the cache.
        XCTAssertEqual(decode([0x1B, 0, 0, 0, 0x00, 0], state: &state), .synchronizeCache(lba: 0, blocks: 0))
        XCTAssertTrue(state.stopped)
        XCTAssertEqual(decode([0x00, 0, 0, 0, 0, 0], state: &state), .checkCondition(.notReadyInitializingCommandRequired))
        // START=1
        XCTAssertEqual(decode([0x1B, 0x01, 0, 0, 0x01, 0], state: &state), .good)
        XCTAssertFalse(state.stopped)
        XCTAssertEqual(decode([0x00, 0, 0, 0, 0, 0], state: &state), .good)
        // NO_FLUSH=1: stop without flushing. LOEJ is ignored (not removable).
        XCTAssertEqual(decode([0x1B, 0, 0, 0, 0x06, 0], state: &state), .good)
        XCTAssertTrue(state.stopped)
        XCTAssertEqual(decode([0x1B, 0, 0, 0, 0x03, 0], state: &state), .good)
        XCTAssertFalse(state.stopped)
    }

    func testPowerConditions() {
        var state = Fixture.ready(LogicalUnitState())
        for condition: UInt8 in [0x1, 0x2, 0x3, 0x7, 0xA, 0xB] {
            // START is ignored when a power condition is given.
            XCTAssertEqual(decode([0x1B, 0, 0, 0, condition << 4, 0], state: &state), .good)
            XCTAssertFalse(state.stopped)
        }
        for condition: UInt8 in [0x4, 0x5, 0x6, 0x8, 0x9, 0xC, 0xF] {
            assertInvalidField(decode([0x1B, 0, 0, 0, condition << 4, 0], state: &state), byte: 4, bit: 7)
        }
    }

    func testPreventAllow() {
        for prevent: UInt8 in 0...3 {
            XCTAssertEqual(decode([0x1E, 0, 0, 0, prevent, 0]), .good)
        }
        var stopped = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertEqual(decode([0x1E, 0, 0, 0, 1, 0], state: &stopped), .good)
    }
}
