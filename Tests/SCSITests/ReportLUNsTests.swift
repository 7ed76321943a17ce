import SCSI
import XCTest

final class ReportLUNsTests: XCTestCase {
    func testListsEncodedLUNs() {
        let data = dataIn(decode(CDBBuilder.reportLUNs()))
        XCTAssertEqual(data, [0, 0, 0, 24, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0, 0, 0,
                              0, 1, 0, 0, 0, 0, 0, 0,
                              0x41, 0x2C, 0, 0, 0, 0, 0, 0])
    }

    func testSelectReportValues() {
        let all = dataIn(decode(CDBBuilder.reportLUNs(select: 0)))
        XCTAssertEqual(dataIn(decode(CDBBuilder.reportLUNs(select: 2))), all)
        XCTAssertEqual(dataIn(decode(CDBBuilder.reportLUNs(select: 1))), [0, 0, 0, 0, 0, 0, 0, 0])
        for select: UInt8 in [3, 0x10, 0x11, 0x12, 0xFF] {
            assertInvalidField(decode(CDBBuilder.reportLUNs(select: select)), byte: 2)
        }
    }

    func testAllocationLengthBelow16IsInvalid() {
        for allocation: UInt32 in [0, 1, 8, 15] {
            assertInvalidField(decode(CDBBuilder.reportLUNs(allocation: allocation)), byte: 6)
        }
    }

    func testAllocationLengthTruncatesButKeepsFullListLength() {
        let data = dataIn(decode(CDBBuilder.reportLUNs(allocation: 16)))
        XCTAssertEqual(data, [0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testEmptyList() {
        let context = CommandContext(lunList: [], expectedDataTransferLength: 0, portalGroupTag: 1)
        XCTAssertEqual(dataIn(decode(CDBBuilder.reportLUNs(), context: context)), [0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testDuplicatesAreListedOnce() {
        let context = CommandContext(lunList: [3, 1, 3, 1], expectedDataTransferLength: 0, portalGroupTag: 1)
        XCTAssertEqual(dataIn(decode(CDBBuilder.reportLUNs(), context: context)),
                       [0, 0, 0, 16, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    }

    func testWorksWhileStopped() {
        var state = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertEqual(dataIn(decode(CDBBuilder.reportLUNs(), state: &state)).count, 32)
    }
}
