import NIOCore
import XCTest

@testable import ISCSITarget

/// The output budget as a value: who may start, who waits, in which order, and when a peer
/// counts as not reading.
final class OutputBudgetTests: XCTestCase {
    func testReadsStartWithinTheLimitAndWhileWritable() {
        var budget = OutputBudget<Int>(limit: 1000)
        XCTAssertTrue(budget.admits(5000, writable: true), "one command always may, however large")
        XCTAssertFalse(budget.admits(10, writable: false), "never while the channel is not writable")
        budget.started(600)
        XCTAssertTrue(budget.admits(400, writable: true))
        XCTAssertFalse(budget.admits(401, writable: true))
        budget.finished(600)
        XCTAssertEqual(budget.inFlight, 0)
        budget.finished(10)
        XCTAssertEqual(budget.inFlight, 0, "never below zero")
    }

    func testWaitingCommandsLeaveInOrderAsRoomAppears() {
        var budget = OutputBudget<Int>(limit: 1000)
        budget.started(900)
        budget.wait(300)
        budget.wait(50)
        XCTAssertNil(budget.next(writable: true) { $0 }, "the first waiting one does not fit yet, and none overtakes it")
        budget.finished(900)
        XCTAssertNil(budget.next(writable: false) { $0 }, "not while unwritable")
        XCTAssertEqual(budget.next(writable: true) { $0 }, 300)
        budget.started(300)
        XCTAssertEqual(budget.next(writable: true) { $0 }, 50)
        XCTAssertEqual(budget.waitingCount, 0)
        budget.wait(7)
        XCTAssertEqual(budget.removeAllWaiting(), [7])
        XCTAssertEqual(budget.waitingCount, 0)
    }

    func testStallIsTimedFromWhenTheChannelFirstBecameUnwritable() {
        var budget = OutputBudget<Int>(limit: 1000)
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        XCTAssertFalse(budget.isStalled(longerThan: .seconds(15), at: t0 + .seconds(100)))
        budget.writabilityChanged(to: false, at: t0)
        budget.writabilityChanged(to: false, at: t0 + .seconds(10))
        XCTAssertFalse(budget.isStalled(longerThan: .seconds(15), at: t0 + .seconds(15)))
        XCTAssertTrue(budget.isStalled(longerThan: .seconds(15), at: t0 + .seconds(16)), "counted from the first change")
        budget.writabilityChanged(to: true, at: t0 + .seconds(17))
        XCTAssertFalse(budget.isStalled(longerThan: .seconds(15), at: t0 + .seconds(100)))
    }
}
