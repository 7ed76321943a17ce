import SCSI
import XCTest

final class ModeSenseTests: XCTestCase {
    /// Splits mode parameter data after the header and block descriptors into pages by code.
    private func pages(_ data: [UInt8], headerLength: Int, descriptorLength: Int) -> [UInt8: [UInt8]] {
        var result: [UInt8: [UInt8]] = [:]
        var offset = headerLength + descriptorLength
        while offset + 2 <= data.count {
            let length = Int(data[offset + 1])
            result[data[offset] & 0x3F] = Array(data[offset..<(offset + 2 + length)])
            offset += 2 + length
        }
        XCTAssertEqual(offset, data.count)
        return result
    }

    func testModeSense6AllPages() {
        let data = dataIn(decode(CDBBuilder.modeSense6(page: 0x3F)))
        XCTAssertEqual(Int(data[0]), data.count - 1, "mode data length")
        XCTAssertEqual(data[1], 0, "medium type")
        XCTAssertEqual(data[2], 0x10, "DPOFUA, not write protected")
        XCTAssertEqual(data[3], 8, "block descriptor length")
        XCTAssertEqual(Array(data[4..<12]), [0, 0, 0x08, 0x00, 0, 0, 0x02, 0x00])
        let found = pages(data, headerLength: 4, descriptorLength: 8)
        XCTAssertEqual(Set(found.keys), [0x01, 0x08, 0x0A, 0x1C])
        // Pages come in ascending order.
        XCTAssertEqual(data[12], 0x01)
        XCTAssertEqual(found[0x01], [0x01, 0x0A, 0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(found[0x08]?.count, 20)
        XCTAssertEqual(found[0x08]?[1], 0x12)
        XCTAssertEqual(found[0x08]?[2], 0x04, "WCE=1, RCD=0")
        XCTAssertEqual(found[0x0A], [0x0A, 0x0A, 0x02, 0x10, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0])
        XCTAssertEqual(found[0x1C], [0x1C, 0x0A, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testWriteCacheAndReadOnlyReflected() {
        let lu = Fixture.lu(readOnly: true, writeCache: false)
        let data = dataIn(decode(CDBBuilder.modeSense6(page: 0x08), lu: lu))
        XCTAssertEqual(data[2], 0x90, "WP and DPOFUA")
        XCTAssertEqual(data[12], 0x08)
        XCTAssertEqual(data[14] & 0x05, 0x00, "WCE=0, RCD=0")

        var state = Fixture.ready(LogicalUnitState(writeCacheOverride: true))
        let overridden = dataIn(decode(CDBBuilder.modeSense6(page: 0x08), lu: lu, state: &state))
        XCTAssertEqual(overridden[14] & 0x04, 0x04)
    }

    func testDescriptorSenseReflectedInControlPage() {
        var state = Fixture.ready(LogicalUnitState(descriptorSense: true))
        let data = dataIn(decode(CDBBuilder.modeSense6(page: 0x0A, dbd: true), state: &state))
        XCTAssertEqual(data[3], 0, "no block descriptor with DBD")
        XCTAssertEqual(data[4], 0x0A)
        XCTAssertEqual(data[6] & 0x04, 0x04, "D_SENSE")
        // The default value stays fixed format.
        let defaults = dataIn(decode(CDBBuilder.modeSense6(page: 0x0A, pc: 2, dbd: true), state: &state))
        XCTAssertEqual(defaults[6] & 0x04, 0)
    }

    func testSinglePageMatchesAllPages() {
        let all = pages(dataIn(decode(CDBBuilder.modeSense6(page: 0x3F))), headerLength: 4, descriptorLength: 8)
        for code: UInt8 in [0x01, 0x08, 0x0A, 0x1C] {
            let single = dataIn(decode(CDBBuilder.modeSense6(page: code, dbd: true)))
            XCTAssertEqual(Int(single[0]), single.count - 1)
            XCTAssertEqual(Array(single[4...]), all[code])
        }
    }

    func testChangeableMasks() {
        let data = dataIn(decode(CDBBuilder.modeSense6(page: 0x3F, pc: 1)))
        let found = pages(data, headerLength: 4, descriptorLength: 8)
        XCTAssertEqual(Array(data[4..<12]), [0, 0, 0, 0, 0, 0, 0, 0], "the block descriptor is not changeable")
        XCTAssertEqual(found[0x01], [0x01, 0x0A] + [UInt8](repeating: 0, count: 10), "nothing in error recovery")
        XCTAssertEqual(found[0x08], [0x08, 0x12, 0x04] + [UInt8](repeating: 0, count: 17), "WCE only")
        XCTAssertEqual(found[0x0A], [0x0A, 0x0A, 0x04, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0], "D_SENSE and SWP")
        XCTAssertEqual(found[0x1C], [0x1C, 0x0A, 0x19, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                       "EWASC, DEXCPT, LOGERR, MRIE, INTERVAL TIMER, REPORT COUNT")
        // libiscsi's Control-SWP test runs when SWP (byte 4 bit 3 of the page) is changeable.
        let control = dataIn(decode(CDBBuilder.modeSense6(page: 0x0A, pc: 1, dbd: true)))
        XCTAssertEqual(control[4 + 4] & 0x08, 0x08)
    }

    func testDefaultValues() {
        let current = dataIn(decode(CDBBuilder.modeSense6(page: 0x3F)))
        XCTAssertEqual(dataIn(decode(CDBBuilder.modeSense6(page: 0x3F, pc: 2))), current)
    }

    func testSavedValuesNotSupported() {
        XCTAssertEqual(decode(CDBBuilder.modeSense6(page: 0x3F, pc: 3)), .checkCondition(.savingParametersNotSupported))
        XCTAssertEqual(decode(CDBBuilder.modeSense10(page: 0x08, pc: 3)), .checkCondition(.savingParametersNotSupported))
    }

    func testUnknownPageAndSubpage() {
        assertInvalidField(decode(CDBBuilder.modeSense6(page: 0x02)), byte: 2, bit: 5)
        assertInvalidField(decode(CDBBuilder.modeSense6(page: 0x00)), byte: 2, bit: 5)
        assertInvalidField(decode(CDBBuilder.modeSense6(page: 0x0A, subpage: 0x01)), byte: 3)
        assertInvalidField(decode(CDBBuilder.modeSense6(page: 0x3F, subpage: 0x01)), byte: 3)
        // Subpage FFh ("all subpages") is fine.
        XCTAssertEqual(dataIn(decode(CDBBuilder.modeSense6(page: 0x3F, subpage: 0xFF))),
                       dataIn(decode(CDBBuilder.modeSense6(page: 0x3F))))
        XCTAssertEqual(dataIn(decode(CDBBuilder.modeSense6(page: 0x08, subpage: 0xFF))),
                       dataIn(decode(CDBBuilder.modeSense6(page: 0x08))))
    }

    func testAllocationLengthTruncatesButKeepsModeDataLength() {
        let full = dataIn(decode(CDBBuilder.modeSense6(page: 0x3F)))
        let four = dataIn(decode(CDBBuilder.modeSense6(page: 0x3F, allocation: 4)))
        XCTAssertEqual(four, Array(full.prefix(4)))
        XCTAssertEqual(Int(four[0]), full.count - 1)
        XCTAssertEqual(dataIn(decode(CDBBuilder.modeSense6(page: 0x3F, allocation: 0))), [])
    }

    func testModeSense10Header() {
        let data = dataIn(decode(CDBBuilder.modeSense10(page: 0x3F)))
        XCTAssertEqual(Int(data[0]) << 8 | Int(data[1]), data.count - 2)
        XCTAssertEqual(data[2], 0)
        XCTAssertEqual(data[3], 0x10)
        XCTAssertEqual(data[4], 0, "LONGLBA clear")
        XCTAssertEqual(Array(data[6...7]), [0, 8])
        XCTAssertEqual(Array(data[8..<16]), [0, 0, 0x08, 0x00, 0, 0, 0x02, 0x00])
        XCTAssertEqual(Set(pages(data, headerLength: 8, descriptorLength: 8).keys), [0x01, 0x08, 0x0A, 0x1C])
    }

    func testModeSense10LongLBABlockDescriptor() {
        let lu = Fixture.lu(blockCount: 0x1_2345_6789, blockSize: 4096)
        let data = dataIn(decode(CDBBuilder.modeSense10(page: 0x08, llbaa: true), lu: lu))
        XCTAssertEqual(data[4], 0x01, "LONGLBA")
        XCTAssertEqual(Array(data[6...7]), [0, 16])
        XCTAssertEqual(Array(data[8..<24]), [0, 0, 0, 0x01, 0x23, 0x45, 0x67, 0x89, 0, 0, 0, 0, 0, 0, 0x10, 0x00])
        XCTAssertEqual(data[24], 0x08)
    }

    func testShortBlockDescriptorSaturates() {
        let lu = Fixture.lu(blockCount: 0x1_0000_0000)
        let data = dataIn(decode(CDBBuilder.modeSense6(page: 0x08), lu: lu))
        XCTAssertEqual(Array(data[4..<8]), [0xFF, 0xFF, 0xFF, 0xFF])
        // MODE SENSE (6) ignores LLBAA (it has none).
        let ten = dataIn(decode(CDBBuilder.modeSense10(page: 0x08, dbd: true, llbaa: true), lu: lu))
        XCTAssertEqual(Array(ten[6...7]), [0, 0], "DBD wins over LLBAA")
    }

    func testWorksWhileStopped() {
        var state = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertFalse(dataIn(decode(CDBBuilder.modeSense6(page: 0x3F), state: &state)).isEmpty)
    }
}
