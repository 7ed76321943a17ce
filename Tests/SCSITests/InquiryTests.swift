import SCSI
import XCTest

final class InquiryTests: XCTestCase {
    func testStandardInquiryLayout() {
        let data = dataIn(decode(CDBBuilder.inquiry(allocation: 260)))
        XCTAssertEqual(data.count, 96)
        XCTAssertEqual(data[0], 0x00, "qualifier 0, direct access")
        XCTAssertEqual(data[1], 0x00, "not removable")
        XCTAssertEqual(data[2], 0x06, "SPC-4")
        XCTAssertEqual(data[3], 0x12, "HiSup, response data format 2")
        XCTAssertEqual(Int(data[4]), data.count - 5, "additional length")
        XCTAssertEqual(data[5], 0x18, "TPGS 01b (implicit ALUA), 3PC (EXTENDED COPY), PROTECT 0")
        XCTAssertEqual(data[7], 0x02, "CmdQue")
        XCTAssertEqual(Array(data[8..<16]), Array("TARGE   ".utf8))
        XCTAssertEqual(Array(data[16..<32]), Array("Targe disk      ".utf8))
        XCTAssertEqual(Array(data[32..<36]), Array("0001".utf8))
        let descriptors = stride(from: 58, to: 74, by: 2).map { UInt16(data[$0]) << 8 | UInt16(data[$0 + 1]) }
        XCTAssertEqual(descriptors, [0x00A0, 0x0960, 0x0460, 0x04C0, 0, 0, 0, 0])
        XCTAssertTrue(data[74...].allSatisfy { $0 == 0 })
    }

    func testIdentificationIsPrintableAndPadded() {
        var lu = Fixture.lu()
        lu.vendor = "A\u{7}VeryLongVendorName"
        lu.product = "p"
        let data = dataIn(decode(CDBBuilder.inquiry(), lu: lu))
        XCTAssertEqual(Array(data[8..<16]), Array("A VeryLo".utf8))
        XCTAssertEqual(Array(data[16..<32]), Array("p               ".utf8))
    }

    func testAllocationLengthTruncates() {
        let full = dataIn(decode(CDBBuilder.inquiry(allocation: 512)))
        for allocation in [0, 1, 5, 36, 95, 96, 255, 511] {
            let data = dataIn(decode(CDBBuilder.inquiry(allocation: UInt16(allocation))))
            XCTAssertEqual(data, Array(full.prefix(allocation)))
        }
        // 511 and 512 (low byte FF / 00) give identical data: the length is 16 bits.
        XCTAssertEqual(dataIn(decode(CDBBuilder.inquiry(allocation: 511))),
                       dataIn(decode(CDBBuilder.inquiry(allocation: 512))))
    }

    func testPageCodeWithoutEVPDIsInvalid() {
        assertInvalidField(decode(CDBBuilder.inquiry(page: 1)), byte: 2)
        assertInvalidField(decode(CDBBuilder.inquiry(page: 0x80)), byte: 2)
    }

    func testCMDDTIsInvalid() {
        assertInvalidField(decode(CDBBuilder.inquiry(flags: 0x02)), byte: 1, bit: 1)
    }

    func testUnknownVPDPageIsInvalid() {
        assertInvalidField(decode(CDBBuilder.inquiry(evpd: true, page: 0x81)), byte: 2)
        assertInvalidField(decode(CDBBuilder.inquiry(evpd: true, page: 0xC0)), byte: 2)
    }

    func testSupportedPagesSortedAndAllReadable() {
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0x00)))
        XCTAssertEqual(Array(data[0...1]), [0x00, 0x00])
        XCTAssertEqual(Int(data[2]) << 8 | Int(data[3]), data.count - 4)
        let pages = Array(data[4...])
        XCTAssertEqual(pages, [0x00, 0x80, 0x83, 0x86, 0x8F, 0xB0, 0xB1, 0xB2])
        XCTAssertEqual(pages, pages.sorted())
        for page in pages {
            let vpd = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: page, allocation: 1024)))
            XCTAssertEqual(vpd[1], page)
            XCTAssertEqual(Int(vpd[2]) << 8 | Int(vpd[3]), vpd.count - 4, "page length of \(page)")
        }
    }

    func testUnitSerialNumberPage() {
        let lu = Fixture.lu()
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0x80)))
        XCTAssertEqual(Array(data[0...3]), [0x00, 0x80, 0x00, UInt8(lu.serial.utf8.count)])
        XCTAssertEqual(Array(data[4...]), Array(lu.serial.utf8))
    }

    /// Parses designation descriptors into (byte0, byte1, designator).
    private func designators(_ data: [UInt8]) -> [(UInt8, UInt8, [UInt8])] {
        var result: [(UInt8, UInt8, [UInt8])] = []
        var offset = 4
        while offset + 4 <= data.count {
            let length = Int(data[offset + 3])
            result.append((data[offset], data[offset + 1], Array(data[(offset + 4)..<(offset + 4 + length)])))
            offset += 4 + length
        }
        XCTAssertEqual(offset, data.count, "descriptors fill the page exactly")
        return result
    }

    func testDeviceIdentificationPage() {
        let lu = Fixture.lu()
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0x83, allocation: 1024)))
        XCTAssertEqual(Array(data[0...1]), [0x00, 0x83])
        let found = designators(data)
        XCTAssertEqual(found.count, 6)

        // NAA 6, LU association, binary, no PIV.
        XCTAssertEqual(found[0].0, 0x01)
        XCTAssertEqual(found[0].1, 0x03)
        XCTAssertEqual(found[0].2, lu.naaIdentifier)
        XCTAssertEqual(found[0].2[0] >> 4, 6)

        // T10 vendor ID, ASCII.
        XCTAssertEqual(found[1].0, 0x02)
        XCTAssertEqual(found[1].1, 0x01)
        XCTAssertEqual(found[1].2, Array(("TARGE   " + lu.serial).utf8))

        // Relative target port: iSCSI, binary, PIV, target port association, type 4.
        XCTAssertEqual(found[2].0, 0x51)
        XCTAssertEqual(found[2].1, 0x94)
        XCTAssertEqual(found[2].2, [0, 0, 0, 1])

        // Target port group: type 5.
        XCTAssertEqual(found[3].0, 0x51)
        XCTAssertEqual(found[3].1, 0x95)
        XCTAssertEqual(found[3].2, [0, 0, 0, 1])

        // SCSI name string of the target port: UTF-8, type 8, null-terminated, 4-byte padded.
        XCTAssertEqual(found[4].0, 0x53)
        XCTAssertEqual(found[4].1, 0x98)
        XCTAssertEqual(found[4].2.count % 4, 0)
        let portName = Fixture.targetName + ",t,0x0001"
        XCTAssertEqual(Array(found[4].2.prefix(portName.utf8.count)), Array(portName.utf8))
        XCTAssertTrue(found[4].2[portName.utf8.count...].allSatisfy { $0 == 0 })
        XCTAssertGreaterThan(found[4].2.count, portName.utf8.count)

        // SCSI name string of the target device: association 2.
        XCTAssertEqual(found[5].0, 0x53)
        XCTAssertEqual(found[5].1, 0xA8)
        XCTAssertEqual(Array(found[5].2.prefix(Fixture.targetName.utf8.count)), Array(Fixture.targetName.utf8))
        XCTAssertEqual(found[5].2.count % 4, 0)
    }

    /// A name too long for one designator (length is one byte) is cut to 252 bytes with its
    /// null, not a trap; every designator's length still fits and is a multiple of 4.
    func testOverlongTargetNameIsCutNotATrap() {
        let name = "iqn.2026-11.org.targe:" + String(repeating: "x", count: 300)
        let identity = LogicalUnitInfo.stableIdentity(targetIQN: name, deviceName: "d")
        let lu = LogicalUnitInfo(lun: 0, blockSize: 512, blockCount: 2048, readOnly: false, writeCache: true,
                                 serial: identity.serial, naaIdentifier: identity.naa, targetName: name,
                                 maxTransferBlocks: nil)
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0x83, allocation: 4096), lu: lu))
        let found = designators(data)
        XCTAssertEqual(found.count, 6)
        for designator in found[4...5] {
            XCTAssertEqual(designator.2.count, 252)
            XCTAssertEqual(designator.2.last, 0)
            XCTAssertEqual(Array(designator.2.prefix(22)), Array("iqn.2026-11.org.targe:".utf8))
        }
    }

    func testDeviceIdentificationUsesPortalGroupTag() {
        let context = CommandContext(lunList: [0], expectedDataTransferLength: 0, portalGroupTag: 0x2a)
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0x83, allocation: 1024), context: context))
        let found = designators(data)
        let name = Fixture.targetName + ",t,0x002a"
        XCTAssertEqual(Array(found[4].2.prefix(name.utf8.count)), Array(name.utf8))
    }

    func testBlockLimitsPage() {
        let lu = Fixture.lu(maxTransferBlocks: 0x4000)
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0xB0), lu: lu))
        XCTAssertEqual(data.count, 64)
        XCTAssertEqual(Array(data[0...3]), [0x00, 0xB0, 0x00, 0x3C])
        XCTAssertEqual(Array(data[6...7]), [0, 1], "optimal transfer length granularity")
        XCTAssertEqual(Array(data[8...11]), [0, 0, 0x40, 0], "maximum transfer length")
        XCTAssertEqual(Array(data[12...15]), [0, 0, 0x08, 0], "optimal transfer length: 1 MiB of 512")
        XCTAssertEqual(Array(data[20...27]), [0, 0, 0, 0, 0, 0, 0, 0], "no UNMAP")
    }

    func testBlockDeviceCharacteristicsPage() {
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0xB1)))
        XCTAssertEqual(data.count, 64)
        XCTAssertEqual(Array(data[0...3]), [0x00, 0xB1, 0x00, 0x3C])
        XCTAssertEqual(Array(data[4...5]), [0x00, 0x01], "non-rotating medium")
    }

    func testLogicalBlockProvisioningPage() {
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0xB2)))
        XCTAssertEqual(data, [0x00, 0xB2, 0x00, 0x04, 0, 0, 0, 0])
    }

    func testExtendedInquiryPage() {
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0x86)))
        XCTAssertEqual(data.count, 64)
        XCTAssertEqual(Array(data[0...3]), [0x00, 0x86, 0x00, 0x3C])
        XCTAssertEqual(data[4], 0x00, "no protection information")
        XCTAssertEqual(data[5], 0x01, "SIMPSUP")
        XCTAssertEqual(data[6], 0x01, "V_SUP with a write cache")
        XCTAssertEqual(data[7], 0x01, "LUICLR")
    }

    func testVPDAllocationLengthTruncates() {
        let data = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0x83, allocation: 8)))
        XCTAssertEqual(data.count, 8)
        XCTAssertEqual(Array(data[0...1]), [0x00, 0x83])
    }

    func testInquiryWorksWhileStopped() {
        var state = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertEqual(dataIn(decode(CDBBuilder.inquiry(), state: &state)).count, 96)
    }
}
