import SCSI
import XCTest

/// Opcode dispatch, CONTROL byte checks, REPORT SUPPORTED OPERATION CODES and missing LUNs.
final class DispatchTests: XCTestCase {
    func testUnknownOpcodes() {
        for opcode: UInt8 in [0x01, 0x04, 0x4D, 0x5C, 0x42, 0x7F, 0xC0, 0xFF] {
            XCTAssertEqual(decode([opcode] + [UInt8](repeating: 0, count: 15)), .checkCondition(.invalidOpcode))
        }
        var stopped = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertEqual(decode([0xFF, 0, 0, 0, 0, 0], state: &stopped), .checkCondition(.invalidOpcode),
                       "an invalid opcode wins over NOT READY")
    }

    func testControlByteNACAAndLink() {
        assertInvalidField(decode([0x00, 0, 0, 0, 0, 0x04]), byte: 5, bit: 2)
        assertInvalidField(decode([0x00, 0, 0, 0, 0, 0x01]), byte: 5, bit: 0)
        assertInvalidField(decode(CDBBuilder.ten(0x28, lba: 0, blocks: 1, control: 0x04)), byte: 9, bit: 2)
        assertInvalidField(decode(CDBBuilder.twelve(0xA8, lba: 0, blocks: 1, control: 0x04)), byte: 11, bit: 2)
        assertInvalidField(decode(CDBBuilder.sixteen(0x88, lba: 0, blocks: 1, control: 0x04)), byte: 15, bit: 2)
        assertInvalidField(decode(CDBBuilder.reportLUNs() .enumerated().map { $0.offset == 11 ? 0x04 : $0.element }),
                           byte: 11, bit: 2)
        // Vendor-specific bits 7-6 are ignored.
        XCTAssertEqual(decode([0x00, 0, 0, 0, 0, 0xC0]), .good)
        XCTAssertEqual(decode(CDBBuilder.ten(0x28, lba: 0, blocks: 1, control: 0x80)), .read(lba: 0, blocks: 1, fua: false))
    }

    func testReportSupportedOperationCodesAll() {
        let data = dataIn(decode(CDBBuilder.rsoc(options: 0)))
        let length = Int(data[0]) << 24 | Int(data[1]) << 16 | Int(data[2]) << 8 | Int(data[3])
        XCTAssertEqual(length, data.count - 4)
        XCTAssertEqual(length % 8, 0)
        var seen: [(UInt8, UInt16, Bool, Int)] = []
        for offset in stride(from: 4, to: data.count, by: 8) {
            let serviceAction = UInt16(data[offset + 2]) << 8 | UInt16(data[offset + 3])
            let servactv = data[offset + 5] & 0x01 != 0
            XCTAssertEqual(data[offset + 5] & 0x02, 0, "no CTDP without RCTD")
            if !servactv { XCTAssertEqual(serviceAction, 0) }
            seen.append((data[offset], serviceAction, servactv, Int(data[offset + 6]) << 8 | Int(data[offset + 7])))
        }
        let opcodes = seen.map(\.0)
        for expected: UInt8 in [0x00, 0x03, 0x08, 0x0A, 0x12, 0x1A, 0x1B, 0x1E, 0x25, 0x28, 0x2A, 0x2E, 0x2F,
                                0x35, 0x5A, 0x88, 0x8A, 0x8E, 0x8F, 0x91, 0x9E, 0xA0, 0xA3, 0xA8, 0xAA, 0xAE, 0xAF] {
            XCTAssertTrue(opcodes.contains(expected), "opcode \(expected) listed")
        }
        XCTAssertEqual(opcodes, opcodes.sorted())
        let readCapacity16 = seen.first { $0.0 == 0x9E }
        XCTAssertEqual(readCapacity16?.1, 0x10)
        XCTAssertEqual(readCapacity16?.2, true)
        XCTAssertEqual(readCapacity16?.3, 16)
        XCTAssertEqual(seen.first { $0.0 == 0x28 }?.3, 10)
        XCTAssertEqual(seen.first { $0.0 == 0xA8 }?.3, 12)
        XCTAssertEqual(seen.first { $0.0 == 0x08 }?.3, 6)
    }

    func testReportSupportedOperationCodesWithTimeouts() {
        let data = dataIn(decode(CDBBuilder.rsoc(options: 0, rctd: true)))
        XCTAssertEqual((data.count - 4) % 20, 0)
        for offset in stride(from: 4, to: data.count, by: 20) {
            XCTAssertEqual(data[offset + 5] & 0x02, 0x02, "CTDP")
            XCTAssertEqual(Array(data[(offset + 8)...(offset + 9)]), [0x00, 0x0A])
        }
    }

    func testReportSupportedOperationCodesOneCommand() {
        let read10 = dataIn(decode(CDBBuilder.rsoc(options: 1, opcode: 0x28)))
        XCTAssertEqual(read10, [0, 0x03, 0, 10, 0x28, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0x07])
        XCTAssertEqual(read10[5] & 0x18, 0x18, "DPO and FUA usable (DPOFUA is set)")

        let verify10 = dataIn(decode(CDBBuilder.rsoc(options: 1, opcode: 0x2F)))
        XCTAssertEqual(verify10[5] & 0x10, 0x10, "DPO usable")

        let withTimeouts = dataIn(decode(CDBBuilder.rsoc(options: 1, rctd: true, opcode: 0x00)))
        XCTAssertEqual(withTimeouts[1], 0x83)
        XCTAssertEqual(withTimeouts.count, 4 + 6 + 12)

        // Unsupported opcode: SUPPORT 001b.
        XCTAssertEqual(dataIn(decode(CDBBuilder.rsoc(options: 1, opcode: 0x44))), [0, 0x01, 0, 0])
    }

    func testReportSupportedOperationCodesServiceActions() {
        // 001b on an opcode with service actions, 010b on one without: invalid.
        assertInvalidField(decode(CDBBuilder.rsoc(options: 1, opcode: 0x9E, serviceAction: 0x10)), byte: 2, bit: 2)
        assertInvalidField(decode(CDBBuilder.rsoc(options: 2, opcode: 0x28)), byte: 2, bit: 2)

        let rc16 = dataIn(decode(CDBBuilder.rsoc(options: 2, opcode: 0x9E, serviceAction: 0x10)))
        XCTAssertEqual(Array(rc16[0...3]), [0, 0x03, 0, 16])
        XCTAssertEqual(Array(rc16[4...5]), [0x9E, 0x10])
        XCTAssertEqual(dataIn(decode(CDBBuilder.rsoc(options: 2, opcode: 0x9E, serviceAction: 0x13))), [0, 0x01, 0, 0])
        XCTAssertEqual(dataIn(decode(CDBBuilder.rsoc(options: 2, opcode: 0xA3, serviceAction: 0x0C)))[4], 0xA3)

        assertInvalidField(decode(CDBBuilder.rsoc(options: 4)), byte: 2, bit: 2)
    }

    func testEveryListedCommandIsReportableOneByOne() {
        let data = dataIn(decode(CDBBuilder.rsoc(options: 0)))
        for offset in stride(from: 4, to: data.count, by: 8) {
            let opcode = data[offset]
            let serviceAction = UInt16(data[offset + 2]) << 8 | UInt16(data[offset + 3])
            let servactv = data[offset + 5] & 0x01 != 0
            let one = dataIn(decode(CDBBuilder.rsoc(options: servactv ? 2 : 1, opcode: opcode, serviceAction: serviceAction)))
            XCTAssertEqual(one[1] & 0x07, 0x03)
            XCTAssertEqual(one[4], opcode)
            XCTAssertEqual(Int(one[2]) << 8 | Int(one[3]), Int(data[offset + 6]) << 8 | Int(data[offset + 7]))
        }
    }

    func testMissingLUNInquiry() {
        let data = dataIn(SCSICommandDecoder.decodeForMissingLUN(CDB(CDBBuilder.inquiry()), context: Fixture.context))
        XCTAssertEqual(data.count, 36)
        XCTAssertEqual(data[0], 0x7F, "peripheral qualifier 3, device type 1Fh")
        XCTAssertEqual(data[3] & 0x0F, 2)
        XCTAssertEqual(Int(data[4]), data.count - 5)

        let short = dataIn(SCSICommandDecoder.decodeForMissingLUN(CDB(CDBBuilder.inquiry(allocation: 1)), context: Fixture.context))
        XCTAssertEqual(short, [0x7F])

        let vpd = dataIn(SCSICommandDecoder.decodeForMissingLUN(CDB(CDBBuilder.inquiry(evpd: true, page: 0)), context: Fixture.context))
        XCTAssertEqual(vpd, [0x7F, 0, 0, 0])
        assertInvalidField(SCSICommandDecoder.decodeForMissingLUN(CDB(CDBBuilder.inquiry(evpd: true, page: 0x83)),
                                                                  context: Fixture.context), byte: 2)
    }

    func testMissingLUNReportLUNsAndRequestSense() {
        XCTAssertEqual(SCSICommandDecoder.decodeForMissingLUN(CDB(CDBBuilder.reportLUNs()), context: Fixture.context),
                       decode(CDBBuilder.reportLUNs()))
        let sense = dataIn(SCSICommandDecoder.decodeForMissingLUN(CDB([0x03, 0, 0, 0, 18, 0]), context: Fixture.context))
        XCTAssertEqual([sense[0], sense[2], sense[12], sense[13]], [0x70, 0x05, 0x25, 0x00])
    }

    func testMissingLUNOtherCommands() {
        for cdb in [[0x00, 0, 0, 0, 0, 0], CDBBuilder.ten(0x28, lba: 0, blocks: 1), [0x25] + [UInt8](repeating: 0, count: 9),
                    [0xFF, 0, 0, 0, 0, 0], CDBBuilder.modeSense6(page: 0x3F)] {
            XCTAssertEqual(SCSICommandDecoder.decodeForMissingLUN(CDB(cdb), context: Fixture.context),
                           .checkCondition(.lunNotSupported))
        }
    }
}
