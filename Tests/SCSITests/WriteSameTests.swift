@testable import SCSI
import XCTest

/// WRITE SAME (10)/(16): the range, zero meaning "to the end", ANCHOR and WRPROTECT
/// refused, NDOB, write protection, and the MAXIMUM WRITE SAME LENGTH bound.
final class WriteSameTests: XCTestCase {
    private func ten(lba: UInt32, blocks: UInt16, flags: UInt8 = 0) -> [UInt8] {
        CDBBuilder.ten(0x41, flags: flags, lba: lba, blocks: blocks)
    }

    private func sixteen(lba: UInt64, blocks: UInt32, flags: UInt8 = 0) -> [UInt8] {
        CDBBuilder.sixteen(0x93, flags: flags, lba: lba, blocks: blocks)
    }

    func testRangeAndZeroMeaningToTheEnd() {
        guard case let .writeSame(lba, blocks, zeros) = decode(ten(lba: 10, blocks: 4)) else { return XCTFail() }
        XCTAssertEqual([lba, UInt64(blocks)], [10, 4])
        XCTAssertFalse(zeros)
        XCTAssertEqual(decode(ten(lba: 10, blocks: 4)).transferLength(blockSize: 512), 512, "one block of Data-Out")
        guard case let .writeSame(_, all, _) = decode(ten(lba: 48, blocks: 0)) else { return XCTFail() }
        XCTAssertEqual(all, 2048 - 48, "zero blocks: to the end of the medium (WSNZ=0)")
    }

    func testOutOfRangeAndRefusedFields() {
        XCTAssertEqual(sense(decode(ten(lba: 2047, blocks: 2))), .lbaOutOfRange)
        XCTAssertEqual(sense(decode(ten(lba: 2048, blocks: 0))), .lbaOutOfRange)
        XCTAssertEqual(sense(decode(sixteen(lba: UInt64.max, blocks: 1))), .lbaOutOfRange)
        XCTAssertEqual(sense(decode(ten(lba: 0, blocks: 1, flags: 0x10))), .invalidFieldInCDB(byte: 1, bit: 4), "ANCHOR")
        XCTAssertEqual(sense(decode(ten(lba: 0, blocks: 1, flags: 0x20))), .invalidFieldInCDB(byte: 1, bit: 7), "WRPROTECT")
        let big = Fixture.lu(blockCount: WriteSameCommand.maximumBlocks * 2)
        XCTAssertEqual(sense(decode(sixteen(lba: 0, blocks: UInt32(WriteSameCommand.maximumBlocks) + 1), lu: big)),
                       .invalidFieldInCDB(byte: 10))
    }

    func testUnmapRefusedAndNDOBWritesZeros() {
        XCTAssertEqual(sense(decode(ten(lba: 0, blocks: 8, flags: 0x08))), .invalidFieldInCDB(byte: 1, bit: 3),
                       "UNMAP on a fully provisioned LU")
        let ndob = decode(sixteen(lba: 0, blocks: 8, flags: 0x01))
        guard case .writeSame(_, 8, true) = ndob else { return XCTFail("\(ndob)") }
        XCTAssertEqual(ndob.direction, .none)
        XCTAssertEqual(ndob.transferLength(blockSize: 512), 0)
    }

    func testWriteProtected() {
        XCTAssertEqual(sense(decode(ten(lba: 0, blocks: 1), lu: Fixture.lu(readOnly: true))), .writeProtected)
    }
}
