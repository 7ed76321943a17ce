import NIOConcurrencyHelpers
@testable import Storage
import XCTest

final class AIORangeLockTests: XCTestCase {
    /// Records grants in order.
    final class Log: @unchecked Sendable {
        let lock = NIOLock()
        var granted: [String: UInt64] = [:]
        var order: [String] = []
        func grant(_ name: String) -> @Sendable (UInt64) -> Void {
            { token in self.lock.withLock { self.granted[name] = token; self.order.append(name) } }
        }
        func token(_ name: String) -> UInt64? { lock.withLock { granted[name] } }
    }

    func testSharedRangesNeverWaitForEachOther() {
        let ranges = AIORangeLock()
        let log = Log()
        ranges.acquire(lo: 0, hi: 8192, exclusive: false, grant: log.grant("a"))
        ranges.acquire(lo: 4096, hi: 8192, exclusive: false, grant: log.grant("b"))
        XCTAssertEqual(log.order, ["a", "b"])
        ranges.release(log.token("a")!)
        ranges.release(log.token("b")!)
        XCTAssertEqual(ranges.counts.held, 0)
    }

    func testExclusiveWaitsForOverlapsOnlyAndLaterOverlapsQueueBehindIt() {
        let ranges = AIORangeLock()
        let log = Log()
        ranges.acquire(lo: 0, hi: 4096, exclusive: false, grant: log.grant("shared"))
        ranges.acquire(lo: 0, hi: 4096, exclusive: true, grant: log.grant("rmw1"))
        ranges.acquire(lo: 8192, hi: 12288, exclusive: true, grant: log.grant("elsewhere"))
        ranges.acquire(lo: 0, hi: 8192, exclusive: false, grant: log.grant("later"))
        ranges.acquire(lo: 0, hi: 4096, exclusive: true, grant: log.grant("rmw2"))
        XCTAssertEqual(log.order, ["shared", "elsewhere"])
        XCTAssertEqual(ranges.counts.waiting, 3)
        ranges.release(log.token("shared")!)
        XCTAssertEqual(log.order, ["shared", "elsewhere", "rmw1"])
        ranges.release(log.token("rmw1")!)
        XCTAssertEqual(log.order, ["shared", "elsewhere", "rmw1", "later"], "first come, first served")
        ranges.release(log.token("later")!)
        XCTAssertEqual(log.order.last, "rmw2")
        ranges.release(log.token("rmw2")!)
        ranges.release(log.token("elsewhere")!)
        XCTAssertEqual(ranges.counts.held, 0)
        XCTAssertEqual(ranges.counts.waiting, 0)
    }

    func testTouchingRangesDoNotConflict() {
        let ranges = AIORangeLock()
        let log = Log()
        ranges.acquire(lo: 0, hi: 4096, exclusive: true, grant: log.grant("a"))
        ranges.acquire(lo: 4096, hi: 8192, exclusive: true, grant: log.grant("b"))
        XCTAssertEqual(log.order, ["a", "b"])
    }
}
