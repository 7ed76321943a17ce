import SCSI
import XCTest

final class LUNEncodingTests: XCTestCase {
    func testPeripheralAndFlatEncodings() {
        XCTAssertEqual(LUNEncoding.encode(0), 0)
        XCTAssertEqual(LUNEncoding.encode(5), 0x0005_0000_0000_0000)
        XCTAssertEqual(LUNEncoding.encode(255), 0x00FF_0000_0000_0000)
        XCTAssertEqual(LUNEncoding.encode(256), 0x4100_0000_0000_0000)
        XCTAssertEqual(LUNEncoding.encode(300), 0x412C_0000_0000_0000)
        XCTAssertEqual(LUNEncoding.encode(0x3FFF), 0x7FFF_0000_0000_0000)
        XCTAssertEqual(LUNEncoding.encode(0x4000), 0xD200_4000_0000_0000)
        XCTAssertEqual(LUNEncoding.encode(0x100_0000), 0xE200_0100_0000_0000)
    }

    func testRoundTrip() {
        for lun: UInt64 in [0, 1, 255, 256, 1000, 0x3FFF, 0x4000, 0xFF_FFFF, 0x100_0000, 0xFF_FFFF_FFFF] {
            XCTAssertEqual(LUNEncoding.decode(LUNEncoding.encode(lun)), lun)
        }
    }

    func testDecodeAcceptsBothFormsOfSmallLUNs() {
        XCTAssertEqual(LUNEncoding.decode(0x4005_0000_0000_0000), 5, "flat space addressing of LUN 5")
        XCTAssertEqual(LUNEncoding.decode(0x0005_0000_0000_0000), 5)
    }

    func testDecodeRejectsMultiLevelAndOtherMethods() {
        XCTAssertNil(LUNEncoding.decode(0x0001_0002_0000_0000), "second level present")
        XCTAssertNil(LUNEncoding.decode(0x0105_0000_0000_0000), "peripheral with bus 1")
        XCTAssertNil(LUNEncoding.decode(0x8005_0000_0000_0000), "logical unit addressing")
        XCTAssertNil(LUNEncoding.decode(0xC101_0000_0000_0000), "well-known LUN")
        XCTAssertNil(LUNEncoding.decode(0x4005_0000_0000_0001))
    }
}
