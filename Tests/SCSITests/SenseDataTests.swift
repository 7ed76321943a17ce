import SCSI
import XCTest

final class SenseDataTests: XCTestCase {
    func testFixedFormatLayout() {
        let bytes = SenseData.lbaOutOfRange.fixedFormat()
        XCTAssertEqual(bytes, [0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x21, 0x00, 0, 0, 0, 0])
    }

    func testFixedFormatFieldPointer() {
        let bytes = SenseData.invalidFieldInCDB(byte: 1, bit: 7).fixedFormat()
        XCTAssertEqual(bytes.count, 18)
        XCTAssertEqual(bytes[2], 0x05)
        XCTAssertEqual(bytes[12], 0x24)
        XCTAssertEqual(bytes[13], 0x00)
        // SKSV | C/D | BPV | bit 7, then field pointer 0x0001.
        XCTAssertEqual(Array(bytes[15...17]), [0xCF, 0x00, 0x01])

        let noBit = SenseData.invalidFieldInCDB(byte: 0x102).fixedFormat()
        XCTAssertEqual(Array(noBit[15...17]), [0xC0, 0x01, 0x02])

        let parameterList = SenseData.invalidFieldInParameterList(byte: 3, bit: 0).fixedFormat()
        XCTAssertEqual(parameterList[12], 0x26)
        XCTAssertEqual(Array(parameterList[15...17]), [0x88, 0x00, 0x03])
    }

    func testFixedFormatInformation() {
        let bytes = SenseData.miscompare(offset: 0x1234).fixedFormat()
        XCTAssertEqual(bytes[0], 0xF0, "VALID set")
        XCTAssertEqual(bytes[2], 0x0E)
        XCTAssertEqual(Array(bytes[3...6]), [0, 0, 0x12, 0x34])
        XCTAssertEqual(bytes[12], 0x1D)

        let tooBig = SenseData.miscompare(offset: 0x1_0000_0000).fixedFormat()
        XCTAssertEqual(tooBig[0], 0x70, "INFORMATION wider than 32 bits leaves VALID clear")
        XCTAssertEqual(Array(tooBig[3...6]), [0, 0, 0, 0])
    }

    func testDescriptorFormat() {
        XCTAssertEqual(SenseData.notReadyInitializingCommandRequired.descriptorFormat(),
                       [0x72, 0x02, 0x04, 0x02, 0, 0, 0, 0])

        let withInfo = SenseData.miscompare(offset: 0x1_0000_0001).descriptorFormat()
        XCTAssertEqual(withInfo, [0x72, 0x0E, 0x1D, 0x00, 0, 0, 0, 12,
                                  0x00, 0x0A, 0x80, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])

        let withPointer = SenseData.invalidFieldInCDB(byte: 2, bit: 5).descriptorFormat()
        XCTAssertEqual(withPointer, [0x72, 0x05, 0x24, 0x00, 0, 0, 0, 8,
                                     0x02, 0x06, 0, 0, 0xCD, 0x00, 0x02, 0])
        XCTAssertEqual(SenseData.lbaOutOfRange.bytes(descriptorFormat: true),
                       SenseData.lbaOutOfRange.descriptorFormat())
        XCTAssertEqual(SenseData.lbaOutOfRange.bytes(descriptorFormat: false),
                       SenseData.lbaOutOfRange.fixedFormat())
    }

    func testCatalogueCodes() {
        let expected: [(SenseData, SenseKey, UInt8, UInt8)] = [
            (.invalidOpcode, .illegalRequest, 0x20, 0x00),
            (.lbaOutOfRange, .illegalRequest, 0x21, 0x00),
            (.parameterListLengthError, .illegalRequest, 0x1A, 0x00),
            (.writeProtected, .dataProtect, 0x27, 0x00),
            (.unrecoveredReadError, .mediumError, 0x11, 0x00),
            (.writeError, .mediumError, 0x0C, 0x00),
            (.savingParametersNotSupported, .illegalRequest, 0x39, 0x00),
            (.lunNotSupported, .illegalRequest, 0x25, 0x00),
            (.internalTargetFailure, .hardwareError, 0x44, 0x00),
            (.notReadyInitializingCommandRequired, .notReady, 0x04, 0x02),
            (.powerOnReset, .unitAttention, 0x29, 0x00),
            (.reportedLUNsDataChanged, .unitAttention, 0x3F, 0x0E),
            (.capacityDataChanged, .unitAttention, 0x2A, 0x09),
            (.protocolServiceCRCError, .abortedCommand, 0x47, 0x05),
            (.invalidFieldInInformationUnit, .illegalRequest, 0x0E, 0x03),
            (.writeProtected, .dataProtect, 0x27, 0x00),
            (.mediumRemovalPrevented, .illegalRequest, 0x53, 0x02),
        ]
        for (sense, key, asc, ascq) in expected {
            XCTAssertEqual(sense.key, key)
            XCTAssertEqual(sense.asc, asc)
            XCTAssertEqual(sense.ascq, ascq)
        }
        XCTAssertEqual(SenseData.invalidOpcode.additionalSenseCode, 0x2000)
        XCTAssertEqual(SenseKey.miscompare.rawValue, 0x0E)
    }

    /// What the trace log reads back from formatted sense: both formats, and nothing from
    /// bytes that are neither.
    func testKeyAndCodesReadBackFromBothFormats() {
        let sense = SenseData(key: .notReady, asc: 0x04, ascq: 0x1B)
        for descriptor in [false, true] {
            let got = SenseData.keyAndCodes(in: sense.bytes(descriptorFormat: descriptor))
            XCTAssertEqual(got?.key, .notReady, "descriptor \(descriptor)")
            XCTAssertEqual(got?.asc, 0x04)
            XCTAssertEqual(got?.ascq, 0x1B)
        }
        XCTAssertNil(SenseData.keyAndCodes(in: []))
        XCTAssertNil(SenseData.keyAndCodes(in: [0x70, 0, 2]), "fixed format cut short")
        XCTAssertNil(SenseData.keyAndCodes(in: [0x7F, 0, 2, 0, 0, 0, 0, 10, 0, 0, 0, 0, 4, 0x1B]), "vendor-specific format")
    }
}
