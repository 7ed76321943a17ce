import SCSI
import XCTest

final class BlockCommandTests: XCTestCase {
    // 2048 blocks of 512: last LBA 2047.
    let lu = Fixture.lu()

    func testRead10And12And16() {
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 1, blocks: 8)), .read(lba: 1, blocks: 8, fua: false))
        XCTAssertEqual(decode(CDBBuilder.twelve(0xA8, lba: 2, blocks: 9)), .read(lba: 2, blocks: 9, fua: false))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x88, lba: 3, blocks: 10)), .read(lba: 3, blocks: 10, fua: false))
    }

    func testWrite10And12And16() {
        XCTAssertEqual(decode(CDBBuilder.ten(0x2A, lba: 1, blocks: 8)), .write(lba: 1, blocks: 8, fua: false))
        XCTAssertEqual(decode(CDBBuilder.twelve(0xAA, lba: 2, blocks: 9)), .write(lba: 2, blocks: 9, fua: false))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x8A, lba: 3, blocks: 10)), .write(lba: 3, blocks: 10, fua: false))
    }

    func testSixByteForms() {
        XCTAssertEqual(decode(CDBBuilder.six(0x08, lba: 0x7FF, blocks: 1)), .read(lba: 0x7FF, blocks: 1, fua: false))
        XCTAssertEqual(decode(CDBBuilder.six(0x0A, lba: 10, blocks: 255)), .write(lba: 10, blocks: 255, fua: false))
        // Transfer length 0 means 256 blocks.
        XCTAssertEqual(decode(CDBBuilder.six(0x08, lba: 0, blocks: 0)), .read(lba: 0, blocks: 256, fua: false))
        XCTAssertEqual(decode(CDBBuilder.six(0x0A, lba: 2048 - 256, blocks: 0)),
                       .write(lba: 2048 - 256, blocks: 256, fua: false))
        XCTAssertEqual(decode(CDBBuilder.six(0x08, lba: 2048 - 255, blocks: 0)), .checkCondition(.lbaOutOfRange))
        // The top three bits of byte 1 are not part of the LBA.
        XCTAssertEqual(decode([0x08, 0xE0, 0x00, 0x05, 1, 0]), .read(lba: 5, blocks: 1, fua: false))
        XCTAssertEqual(decode(CDBBuilder.six(0x08, lba: 0x1F_FFFF, blocks: 1)), .checkCondition(.lbaOutOfRange))
    }

    func testFUAAndDPO() {
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, flags: 0x08, lba: 0, blocks: 1)), .read(lba: 0, blocks: 1, fua: true))
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, flags: 0x10, lba: 0, blocks: 1)), .read(lba: 0, blocks: 1, fua: false))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x8A, flags: 0x18, lba: 0, blocks: 1)), .write(lba: 0, blocks: 1, fua: true))
        // FUA_NV (bit 1, obsolete) is accepted (libiscsi write10_flags).
        XCTAssertEqual(decode(CDBBuilder.ten(0x2A, flags: 0x1A, lba: 0, blocks: 1)), .write(lba: 0, blocks: 1, fua: true))
        XCTAssertEqual(decode(CDBBuilder.ten(0x2A, flags: 0x02, lba: 0, blocks: 1)), .write(lba: 0, blocks: 1, fua: false))
    }

    func testZeroBlocks() {
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 0, blocks: 0)), .read(lba: 0, blocks: 0, fua: false))
        XCTAssertEqual(decode(CDBBuilder.ten(0x2A, lba: 2047, blocks: 0)), .write(lba: 2047, blocks: 0, fua: false))
        // Zero blocks beyond the end is still out of range (libiscsi *_0blocks).
        for opcode: UInt8 in [0x28, 0x2A, 0x2E, 0x2F] {
            XCTAssertEqual(decode(CDBBuilder.ten(opcode, lba: 2049, blocks: 0)), .checkCondition(.lbaOutOfRange))
            XCTAssertEqual(decode(CDBBuilder.ten(opcode, lba: 0x8000_0000, blocks: 0)), .checkCondition(.lbaOutOfRange))
            XCTAssertEqual(decode(CDBBuilder.ten(opcode, lba: 0xFFFF_FFFF, blocks: 0)), .checkCondition(.lbaOutOfRange))
        }
    }

    func testLastLBAAndBeyond() {
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 2047, blocks: 1)), .read(lba: 2047, blocks: 1, fua: false))
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 2040, blocks: 8)), .read(lba: 2040, blocks: 8, fua: false))
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 2040, blocks: 9)), .checkCondition(.lbaOutOfRange))
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 2048, blocks: 1)), .checkCondition(.lbaOutOfRange))
        for blocks: UInt16 in 1...256 {
            XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 2049 - UInt32(blocks), blocks: blocks)),
                           .checkCondition(.lbaOutOfRange))
        }
    }

    func testLBAPlusLengthWrapping() {
        // LBA near 2^64: LBA + length wraps around in 64 bits and must still be out of range.
        let huge = Fixture.lu(blockCount: UInt64.max)
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x88, lba: UInt64.max - 1, blocks: 1), lu: huge),
                       .read(lba: UInt64.max - 1, blocks: 1, fua: false))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x88, lba: UInt64.max - 1, blocks: 2), lu: huge),
                       .checkCondition(.lbaOutOfRange))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x88, lba: UInt64.max, blocks: 3), lu: huge),
                       .checkCondition(.lbaOutOfRange))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x88, lba: UInt64.max, blocks: 1)), .checkCondition(.lbaOutOfRange))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x88, lba: 1 << 63, blocks: 1)), .checkCondition(.lbaOutOfRange))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x8A, lba: UInt64.max - 2, blocks: 0x10), lu: huge),
                       .checkCondition(.lbaOutOfRange))
    }

    func testProtectFieldMustBeZero() {
        for opcode: UInt8 in [0x28, 0x2A, 0x2E, 0x2F] {
            for protect: UInt8 in 1...7 {
                assertInvalidField(decode(CDBBuilder.ten(opcode, flags: protect << 5, lba: 0, blocks: 1)), byte: 1, bit: 7)
            }
        }
        assertInvalidField(decode(CDBBuilder.twelve(0xA8, flags: 0x20, lba: 0, blocks: 1)), byte: 1, bit: 7)
        assertInvalidField(decode(CDBBuilder.sixteen(0x8A, flags: 0x40, lba: 0, blocks: 1)), byte: 1, bit: 7)
        assertInvalidField(decode(CDBBuilder.sixteen(0x8F, flags: 0x80, lba: 0, blocks: 1)), byte: 1, bit: 7)
    }

    func testVerify() {
        XCTAssertEqual(decode(CDBBuilder.ten(0x2F, lba: 5, blocks: 3)), .verify(lba: 5, blocks: 3, byteCheck: false))
        XCTAssertEqual(decode(CDBBuilder.ten(0x2F, flags: 0x02, lba: 5, blocks: 3)), .verify(lba: 5, blocks: 3, byteCheck: true))
        XCTAssertEqual(decode(CDBBuilder.twelve(0xAF, flags: 0x12, lba: 5, blocks: 3)), .verify(lba: 5, blocks: 3, byteCheck: true))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x8F, lba: 2047, blocks: 1)), .verify(lba: 2047, blocks: 1, byteCheck: false))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x8F, flags: 0x02, lba: 2048, blocks: 0)), .checkCondition(.lbaOutOfRange))
        // BYTCHK 10b (reserved) and 11b (not supported).
        assertInvalidField(decode(CDBBuilder.ten(0x2F, flags: 0x04, lba: 0, blocks: 1)), byte: 1, bit: 2)
        assertInvalidField(decode(CDBBuilder.ten(0x2F, flags: 0x06, lba: 0, blocks: 1)), byte: 1, bit: 2)
    }

    func testWriteAndVerify() {
        XCTAssertEqual(decode(CDBBuilder.ten(0x2E, lba: 5, blocks: 3)), .writeAndVerify(lba: 5, blocks: 3, byteCheck: false))
        XCTAssertEqual(decode(CDBBuilder.ten(0x2E, flags: 0x12, lba: 5, blocks: 3)),
                       .writeAndVerify(lba: 5, blocks: 3, byteCheck: true))
        XCTAssertEqual(decode(CDBBuilder.twelve(0xAE, flags: 0x02, lba: 0, blocks: 1)),
                       .writeAndVerify(lba: 0, blocks: 1, byteCheck: true))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x8E, lba: 2047, blocks: 2)), .checkCondition(.lbaOutOfRange))
        assertInvalidField(decode(CDBBuilder.sixteen(0x8E, flags: 0x04, lba: 0, blocks: 1)), byte: 1, bit: 2)
    }

    func testSynchronizeCache() {
        XCTAssertEqual(decode(CDBBuilder.ten(0x35, lba: 0, blocks: 0)), .synchronizeCache(lba: 0, blocks: 0))
        XCTAssertEqual(decode(CDBBuilder.ten(0x35, flags: 0x02, lba: 10, blocks: 20)), .synchronizeCache(lba: 10, blocks: 20))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x91, lba: 2047, blocks: 1)), .synchronizeCache(lba: 2047, blocks: 1))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x91, lba: 2047, blocks: 2)), .checkCondition(.lbaOutOfRange))
        XCTAssertEqual(decode(CDBBuilder.ten(0x35, lba: 2048, blocks: 0)), .checkCondition(.lbaOutOfRange))
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x91, lba: UInt64.max, blocks: 1)), .checkCondition(.lbaOutOfRange))
    }

    func testReadOnlyRejectsWritesOnly() {
        let readOnly = Fixture.lu(readOnly: true)
        for cdb in [CDBBuilder.ten(0x2A, lba: 0, blocks: 1), CDBBuilder.twelve(0xAA, lba: 0, blocks: 1),
                    CDBBuilder.sixteen(0x8A, lba: 0, blocks: 1), CDBBuilder.six(0x0A, lba: 0, blocks: 1),
                    CDBBuilder.ten(0x2E, flags: 0x02, lba: 0, blocks: 1), CDBBuilder.twelve(0xAE, lba: 0, blocks: 1),
                    CDBBuilder.sixteen(0x8E, lba: 0, blocks: 1)] {
            XCTAssertEqual(decode(cdb, lu: readOnly), .checkCondition(.writeProtected))
        }
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 0, blocks: 1), lu: readOnly), .read(lba: 0, blocks: 1, fua: false))
        XCTAssertEqual(decode(CDBBuilder.ten(0x2F, lba: 0, blocks: 1), lu: readOnly), .verify(lba: 0, blocks: 1, byteCheck: false))
        XCTAssertEqual(decode(CDBBuilder.ten(0x35, lba: 0, blocks: 0), lu: readOnly), .synchronizeCache(lba: 0, blocks: 0))
        let sense = SenseData.writeProtected.fixedFormat()
        XCTAssertEqual([sense[2], sense[12], sense[13]], [0x07, 0x27, 0x00])
    }

    func testMaximumTransferLength() {
        let limited = Fixture.lu(maxTransferBlocks: 128)
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 0, blocks: 128), lu: limited), .read(lba: 0, blocks: 128, fua: false))
        assertInvalidField(decode(CDBBuilder.ten(0x28, lba: 0, blocks: 129), lu: limited), byte: 7)
        assertInvalidField(decode(CDBBuilder.sixteen(0x8A, lba: 0, blocks: 129), lu: limited), byte: 10)
        assertInvalidField(decode(CDBBuilder.twelve(0xAF, lba: 0, blocks: 129), lu: limited), byte: 6)
        assertInvalidField(decode(CDBBuilder.six(0x08, lba: 0, blocks: 0), lu: limited), byte: 4)
        // SYNCHRONIZE CACHE moves no data: no limit.
        XCTAssertEqual(decode(CDBBuilder.ten(0x35, lba: 0, blocks: 1000), lu: limited), .synchronizeCache(lba: 0, blocks: 1000))
        // 0 means unlimited.
        let unlimited = Fixture.lu(blockCount: 1 << 40, maxTransferBlocks: 0)
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x88, lba: 0, blocks: .max), lu: unlimited),
                       .read(lba: 0, blocks: .max, fua: false))
    }

    func testNotReadyWhileStopped() {
        var state = Fixture.ready(LogicalUnitState(stopped: true))
        for cdb in [CDBBuilder.ten(0x28, lba: 0, blocks: 1), CDBBuilder.ten(0x2A, lba: 0, blocks: 1),
                    CDBBuilder.ten(0x2F, lba: 0, blocks: 1), CDBBuilder.ten(0x2E, lba: 0, blocks: 1),
                    CDBBuilder.ten(0x35, lba: 0, blocks: 0), CDBBuilder.sixteen(0x91, lba: 0, blocks: 0),
                    CDBBuilder.six(0x08, lba: 0, blocks: 1)] {
            XCTAssertEqual(decode(cdb, state: &state), .checkCondition(.notReadyInitializingCommandRequired))
        }
    }

    func testTransferLengths() {
        XCTAssertEqual(SCSIAction.read(lba: 0, blocks: 8, fua: false).transferLength(blockSize: 512), 4096)
        XCTAssertEqual(SCSIAction.write(lba: 0, blocks: 2, fua: true).transferLength(blockSize: 4096), 8192)
        XCTAssertEqual(SCSIAction.writeAndVerify(lba: 0, blocks: 2, byteCheck: false).transferLength(blockSize: 512), 1024)
        XCTAssertEqual(SCSIAction.verify(lba: 0, blocks: 2, byteCheck: true).transferLength(blockSize: 512), 1024)
        XCTAssertEqual(SCSIAction.verify(lba: 0, blocks: 2, byteCheck: false).transferLength(blockSize: 512), 0)
        XCTAssertEqual(SCSIAction.dataIn([1, 2, 3]).transferLength(blockSize: 512), 3)
        XCTAssertEqual(SCSIAction.good.transferLength(blockSize: 512), 0)
        XCTAssertEqual(SCSIAction.checkCondition(.lbaOutOfRange).transferLength(blockSize: 512), 0)
        XCTAssertEqual(SCSIAction.synchronizeCache(lba: 0, blocks: 9).transferLength(blockSize: 512), 0)

        XCTAssertEqual(SCSIAction.read(lba: 0, blocks: 1, fua: false).direction, .dataIn)
        XCTAssertEqual(SCSIAction.dataIn([]).direction, .dataIn)
        XCTAssertEqual(SCSIAction.write(lba: 0, blocks: 1, fua: false).direction, .dataOut)
        XCTAssertEqual(SCSIAction.writeAndVerify(lba: 0, blocks: 1, byteCheck: false).direction, .dataOut)
        XCTAssertEqual(SCSIAction.verify(lba: 0, blocks: 1, byteCheck: true).direction, .dataOut)
        XCTAssertEqual(SCSIAction.verify(lba: 0, blocks: 1, byteCheck: false).direction, DataDirection.none)
        XCTAssertEqual(SCSIAction.good.direction, DataDirection.none)
    }
}
