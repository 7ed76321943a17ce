@testable import ISCSITarget
import NIOCore
import XCTest

final class AuthenticationThrottleTests: XCTestCase {
    private let a: [UInt8] = [127, 0, 0, 6]
    private let b: [UInt8] = [127, 0, 0, 7]

    func testFailuresFromOneAddressAreSlowedMoreAndMore() {
        var throttle = AuthenticationThrottle()
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        // failure n (1-based) -> seconds its answer waits, and whether it is logged
        let table: [(Int, Int64, Bool)] = [(1, 0, false), (2, 0, false), (3, 0, false), (4, 1, true), (5, 2, false),
                                           (6, 4, false), (7, 8, false), (8, 16, false), (9, 30, false),
                                           (12, 30, false), (13, 30, true)]
        var n = 0
        for (failure, seconds, logged) in table {
            var result: (delay: TimeAmount, notice: String?) = (.zero, nil)
            while n < failure {
                n += 1
                result = throttle.failed(from: a, at: t0 + .seconds(Int64(n)))
            }
            XCTAssertEqual(result.delay, .seconds(seconds), "failure \(failure)")
            XCTAssertEqual(result.notice != nil, logged, "failure \(failure): \(result.notice ?? "no notice")")
        }
        XCTAssertEqual(throttle.failed(from: b, at: t0 + .seconds(14)).delay, .zero, "another address is not slowed")
        // A minute without failures and the address starts afresh.
        XCTAssertEqual(throttle.failed(from: a, at: t0 + .seconds(13 + 61)).delay, .zero)
    }

    func testTheTableStaysBounded() {
        var throttle = AuthenticationThrottle()
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        for i in 0..<(AuthenticationThrottle.maxAddresses + 10) {
            _ = throttle.failed(from: [10, UInt8(i >> 16 & 0xff), UInt8(i >> 8 & 0xff), UInt8(i & 0xff)], at: t0)
        }
        XCTAssertLessThanOrEqual(throttle.records.count, AuthenticationThrottle.maxAddresses)
        _ = throttle.failed(from: a, at: t0 + .seconds(120))
        throttle.forgetExpired(at: t0 + .seconds(120))
        XCTAssertEqual(throttle.records.count, 1, "expired records go")
    }
}

final class FloodWatchTests: XCTestCase {
    func testAFloodEndsWhenAQuarterOfItsPeakIsLeft() {
        var watch = FloodWatch()
        // open connections -> whether a flood just ended
        let table: [(Int, Bool)] = [(10, false), (2, false), (300, false), (100, false), (75, true), (10, false),
                                    (400, false), (101, false), (100, true), (99, false), (50, false)]
        for (open, ended) in table {
            XCTAssertEqual(watch.connections(open), ended, "\(open) open (peak \(watch.peak))")
        }
    }
}
