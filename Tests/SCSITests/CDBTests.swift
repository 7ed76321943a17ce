import SCSI
import XCTest

final class CDBTests: XCTestCase {
    func testBytesRoundTripAndPadding() {
        let cdb = CDB([0x28, 0x01, 0x02, 0x03])
        XCTAssertEqual(cdb.opcode, 0x28)
        XCTAssertEqual(cdb[1], 0x01)
        XCTAssertEqual(cdb[3], 0x03)
        XCTAssertEqual(cdb[4], 0x00)
        XCTAssertEqual(cdb[15], 0x00)
        XCTAssertEqual(cdb.bytes, [0x28, 1, 2, 3] + [UInt8](repeating: 0, count: 12))
        XCTAssertEqual(cdb.high, 0x2801_0203_0000_0000)
        XCTAssertEqual(cdb.low, 0)
    }

    func testTruncatesTo16Bytes() {
        let bytes = (0..<20).map { UInt8($0) }
        let cdb = CDB(bytes)
        XCTAssertEqual(cdb.bytes, Array(bytes.prefix(16)))
        XCTAssertEqual(cdb, CDB(high: 0x0001_0203_0405_0607, low: 0x0809_0A0B_0C0D_0E0F))
    }

    func testIntegerHelpersAcrossTheMiddle() {
        let cdb = CDB(high: 0x0001_0203_0405_0607, low: 0x0809_0A0B_0C0D_0E0F)
        XCTAssertEqual(cdb.u16(at: 7), 0x0708)
        XCTAssertEqual(cdb.u24(at: 6), 0x06_0708)
        XCTAssertEqual(cdb.u32(at: 2), 0x0203_0405)
        XCTAssertEqual(cdb.u32(at: 6), 0x0607_0809)
        XCTAssertEqual(cdb.u32(at: 10), 0x0A0B_0C0D)
        XCTAssertEqual(cdb.u64(at: 0), 0x0001_0203_0405_0607)
        XCTAssertEqual(cdb.u64(at: 2), 0x0203_0405_0607_0809)
        XCTAssertEqual(cdb.u64(at: 8), 0x0809_0A0B_0C0D_0E0F)
        XCTAssertEqual(cdb.u32(at: 14), 0x0E0F_0000, "bytes past 15 read as zero")
        XCTAssertEqual(cdb[16], 0)
        XCTAssertEqual(cdb[-1], 0)
    }
}
