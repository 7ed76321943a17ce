@testable import DeviceServer
import NIOCore
import XCTest

final class SanitizePacingTests: XCTestCase {
    func testSanitizePacingNeverOverflows() {
        let start = NIODeadline.uptimeNanoseconds(0)
        // 20 GiB at 6 MiB/s: 3413.33 s, where bytes * 1e9 would overflow 64 bits.
        let due = LogicalUnit.due(start: start, bytesBefore: 20 << 30, rate: 6 << 20)
        XCTAssertEqual(due.uptimeNanoseconds, 3_413_333_333_333)
        XCTAssertEqual(LogicalUnit.due(start: start, bytesBefore: UInt64.max, rate: 1).uptimeNanoseconds,
                       UInt64(Int64.max), "clamped, not trapped")
    }
}
