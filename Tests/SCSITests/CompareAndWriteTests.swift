@testable import SCSI
import XCTest

/// COMPARE AND WRITE decoding: twice the blocks of Data-Out, the length limit, zero blocks,
/// the range, FUA, write protection.
final class CompareAndWriteTests: XCTestCase {
    private func caw(lba: UInt64, blocks: UInt8, flags: UInt8 = 0) -> [UInt8] {
        var cdb = CDBBuilder.sixteen(0x89, flags: flags, lba: lba, blocks: 0)
        cdb[13] = blocks
        return cdb
    }

    func testDataOutIsVerifyThenWriteData() {
        let action = decode(caw(lba: 5, blocks: 2, flags: 0x08))
        guard case .compareAndWrite(5, 2, true) = action else { return XCTFail("\(action)") }
        XCTAssertEqual(action.direction, .dataOut)
        XCTAssertEqual(action.transferLength(blockSize: 512), 2048)
    }

    func testLimitsAndRange() {
        XCTAssertEqual(sense(decode(caw(lba: 0, blocks: CompareAndWriteCommand.maximumBlocks + 1))),
                       .invalidFieldInCDB(byte: 13))
        XCTAssertEqual(sense(decode(caw(lba: 2047, blocks: 2))), .lbaOutOfRange)
        XCTAssertEqual(sense(decode(caw(lba: 0, blocks: 1, flags: 0x20))), .invalidFieldInCDB(byte: 1, bit: 7))
        guard case .good = decode(caw(lba: 0, blocks: 0)) else { return XCTFail("zero blocks moves nothing") }
        let meant256 = CommandContext(lunList: [0], expectedDataTransferLength: 2 * 256 * 512, portalGroupTag: 1)
        XCTAssertEqual(sense(decode(caw(lba: 0, blocks: 0), context: meant256)), .invalidFieldInCDB(byte: 13),
                       "zero blocks with data to send: 256 does not fit the field")
        XCTAssertEqual(sense(decode(caw(lba: 0, blocks: 1), lu: Fixture.lu(readOnly: true))), .writeProtected)
    }
}

/// ORWRITE (16): the range, ORPROTECT refused, zero blocks, write protection.
final class OrWriteTests: XCTestCase {
    func testDecode() {
        let action = decode(CDBBuilder.sixteen(0x8B, flags: 0x08, lba: 3, blocks: 4))
        guard case .orWrite(3, 4, true) = action else { return XCTFail("\(action)") }
        XCTAssertEqual(action.transferLength(blockSize: 512), 2048)
        XCTAssertEqual(sense(decode(CDBBuilder.sixteen(0x8B, lba: 2046, blocks: 4))), .lbaOutOfRange)
        XCTAssertEqual(sense(decode(CDBBuilder.sixteen(0x8B, flags: 0x20, lba: 0, blocks: 1))),
                       .invalidFieldInCDB(byte: 1, bit: 7))
        guard case .good = decode(CDBBuilder.sixteen(0x8B, lba: 0, blocks: 0)) else { return XCTFail() }
        XCTAssertEqual(sense(decode(CDBBuilder.sixteen(0x8B, lba: 0, blocks: 1), lu: Fixture.lu(readOnly: true))),
                       .writeProtected)
    }
}
