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
        guard case let .writeSame(lba, blocks, zeros, _) = decode(ten(lba: 10, blocks: 4)) else { return XCTFail() }
        XCTAssertEqual([lba, UInt64(blocks)], [10, 4])
        XCTAssertFalse(zeros)
        XCTAssertEqual(decode(ten(lba: 10, blocks: 4)).transferLength(blockSize: 512), 512, "one block of Data-Out")
        guard case let .writeSame(_, all, _, _) = decode(ten(lba: 48, blocks: 0)) else { return XCTFail() }
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
        guard case .writeSame(_, 8, true, false) = ndob else { return XCTFail("\(ndob)") }
        XCTAssertEqual(ndob.direction, .none)
        XCTAssertEqual(ndob.transferLength(blockSize: 512), 0)
    }

    func testWriteProtected() {
        XCTAssertEqual(sense(decode(ten(lba: 0, blocks: 1), lu: Fixture.lu(readOnly: true))), .writeProtected)
    }

    func testUnmapOnAThinLU() {
        var thin = Fixture.lu()
        thin.thinProvisioned = true
        guard case .writeSame(0, 8, false, true) = decode(ten(lba: 0, blocks: 8, flags: 0x08), lu: thin) else {
            return XCTFail("UNMAP on a thin LU")
        }
    }
}

/// UNMAP and GET LBA STATUS: only on a thin LU; the parameter list checked whole.
final class UnmapTests: XCTestCase {
    private var thin: LogicalUnitInfo {
        var lu = Fixture.lu()
        lu.thinProvisioned = true
        return lu
    }

    private func list(_ ranges: [(UInt64, UInt32)]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBE16(UInt16(6 + 16 * ranges.count))
        out.appendBE16(UInt16(16 * ranges.count))
        out += [0, 0, 0, 0]
        for (lba, blocks) in ranges {
            out.appendBE64(lba)
            out.appendBE32(blocks)
            out += [0, 0, 0, 0]
        }
        return out
    }

    func testDecodeAsksForTheList() {
        let cdb: [UInt8] = [0x42, 0, 0, 0, 0, 0, 0, 0, 40, 0]
        XCTAssertEqual(decode(cdb, lu: thin), .parameterData(length: 40))
        XCTAssertEqual(decode(cdb), .checkCondition(.invalidOpcode), "a fully provisioned LU has no UNMAP")
        XCTAssertEqual(decode([0x42, 0x01, 0, 0, 0, 0, 0, 0, 40, 0], lu: thin), .checkCondition(.invalidFieldInCDB(byte: 1, bit: 0)))
        XCTAssertEqual(decode([0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0], lu: thin), .good)
    }

    func testParameterList() {
        XCTAssertEqual(UnmapCommand.complete(parameters: list([(8, 16), (100, 1)]), lu: thin),
                       .deallocate([BlockRange(lba: 8, blocks: 16), BlockRange(lba: 100, blocks: 1)]))
        XCTAssertEqual(UnmapCommand.complete(parameters: list([(2040, 16)]), lu: thin), .checkCondition(.lbaOutOfRange))
        XCTAssertEqual(UnmapCommand.complete(parameters: [0, 6], lu: thin), .checkCondition(.parameterListLengthError))
        XCTAssertEqual(UnmapCommand.complete(parameters: list([(0, 0)]), lu: thin), .good, "zero blocks: nothing to do")
    }

    func testGetLBAStatus() {
        let cdb = CDBBuilder.sixteen(0x9E, flags: 0x12, lba: 5, blocks: 24)
        XCTAssertEqual(decode(cdb, lu: thin), .lbaStatus(lba: 5, allocation: 24))
        let beyond = CDBBuilder.sixteen(0x9E, flags: 0x12, lba: 2048, blocks: 24)
        XCTAssertEqual(decode(beyond, lu: thin), .checkCondition(.lbaOutOfRange))
        let bytes = GetLBAStatusCommand.response(lba: 5, blocks: 3, deallocated: true, allocation: 24)
        XCTAssertEqual(bytes.count, 24)
        XCTAssertEqual(Array(bytes[0..<4]), [0, 0, 0, 20])
        XCTAssertEqual(bytes[15], 5)
        XCTAssertEqual(Array(bytes[16..<20]), [0, 0, 0, 3])
        XCTAssertEqual(bytes[20], 1)
    }

    func testCapacityAndVPDSayThin() {
        guard case let .dataIn(capacity) = decode(CDBBuilder.sixteen(0x9E, flags: 0x10, lba: 0, blocks: 32), lu: thin) else {
            return XCTFail()
        }
        XCTAssertEqual(capacity[14] & 0xC0, 0xC0, "LBPME and LBPRZ")
        guard case let .dataIn(b2) = decode(CDBBuilder.inquiry(evpd: true, page: 0xB2, allocation: 64), lu: thin) else {
            return XCTFail()
        }
        XCTAssertEqual(b2[5] & 0xE0, 0xE0, "LBPU, LBPWS, LBPWS10")
        XCTAssertEqual(b2[6] & 0x07, 0x02, "thin")
    }
}
