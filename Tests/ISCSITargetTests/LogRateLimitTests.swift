import NIOCore
import XCTest
@testable import ISCSITarget

final class LogRateLimitTests: XCTestCase {
    func testBurstThenSilenceThenACountedLine() {
        var limit = LogRateLimit(burst: 3, per: .seconds(10))
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        XCTAssertEqual((0..<3).map { _ in limit.admit(at: t0) }, [0, 0, 0], "the burst gets through")
        XCTAssertEqual((0..<100).compactMap { _ in limit.admit(at: t0 + .seconds(5)) }, [], "then nothing within the interval")
        XCTAssertEqual(limit.admit(at: t0 + .seconds(10)), 100, "the next window's first line counts the dropped ones")
        XCTAssertEqual(limit.admit(at: t0 + .seconds(11)), 0)
    }
}
