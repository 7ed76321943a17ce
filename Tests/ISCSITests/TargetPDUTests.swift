import ISCSI
import NIOCore
import XCTest

/// Byte layouts of target PDUs per RFC 7143 section 11.
final class TargetPDUTests: XCTestCase {
    private let seq = TargetPDU.Sequence(statSN: 0x0a0b_0c0d, expCmdSN: 0x1a1b_1c1d, maxCmdSN: 0x2a2b_2c2d)

    private func assertSequence(_ b: [UInt8], statSN: UInt32? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(bigEndianUInt32(b, at: 24), statSN ?? seq.statSN, "StatSN", file: file, line: line)
        XCTAssertEqual(bigEndianUInt32(b, at: 28), seq.expCmdSN, "ExpCmdSN", file: file, line: line)
        XCTAssertEqual(bigEndianUInt32(b, at: 32), seq.maxCmdSN, "MaxCmdSN", file: file, line: line)
    }

    // MARK: SCSI Response (11.4)

    func testSCSIResponseWithoutResidual() {
        let b = TargetPDU.scsiResponse(itt: 0x1111_2222, status: 0x02, residual: .none, seq: seq,
                                       expDataSN: 7, dataLength: 18).wireBytes
        XCTAssertEqual(b[0], 0x21)
        XCTAssertEqual(b[1], 0x80, "F bit only")
        XCTAssertEqual(b[2], 0x00, "response: command completed at target")
        XCTAssertEqual(b[3], 0x02, "status")
        XCTAssertEqual(Array(b[5...7]), [0, 0, 18])
        XCTAssertEqual(bigEndianUInt32(b, at: 16), 0x1111_2222)
        assertSequence(b)
        XCTAssertEqual(bigEndianUInt32(b, at: 36), 7, "ExpDataSN")
        XCTAssertEqual(bigEndianUInt32(b, at: 40), 0, "bidi read residual")
        XCTAssertEqual(bigEndianUInt32(b, at: 44), 0, "residual count")
    }

    func testSCSIResponseOverflowSetsOBit() {
        let b = TargetPDU.scsiResponse(itt: 1, status: 0, residual: .overflow(4096), seq: seq,
                                       expDataSN: 0, dataLength: 0).wireBytes
        XCTAssertEqual(b[1], 0x80 | 0x04)
        XCTAssertEqual(b[1] & 0x02, 0, "U clear")
        XCTAssertEqual(bigEndianUInt32(b, at: 44), 4096)
    }

    func testSCSIResponseUnderflowSetsUBit() {
        let b = TargetPDU.scsiResponse(itt: 1, status: 0, residual: .underflow(0x0102_0304), seq: seq,
                                       expDataSN: 0, dataLength: 0).wireBytes
        XCTAssertEqual(b[1], 0x80 | 0x02)
        XCTAssertEqual(b[1] & 0x04, 0, "O clear")
        XCTAssertEqual(Array(b[44...47]), [1, 2, 3, 4])
        // The bidirectional bits (o = 0x10, u = 0x08) stay clear.
        XCTAssertEqual(b[1] & 0x18, 0)
    }

    // MARK: Data-In (11.7)

    func testDataInWithoutStatus() {
        let b = TargetPDU.dataIn(itt: 0x0102_0304, lun: 0x0003_0000_0000_0000, dataSN: 5, offset: 8192, length: 4096,
                                 final: false, status: nil, residual: .underflow(512), seq: seq).wireBytes
        XCTAssertEqual(b[0], 0x25)
        XCTAssertEqual(b[1], 0x00, "no F, no S, and no residual bits without S")
        XCTAssertEqual(b[3], 0, "status byte reserved without S")
        XCTAssertEqual(Array(b[5...7]), [0, 0x10, 0])
        XCTAssertEqual(bigEndianUInt64(b, at: 8), 0x0003_0000_0000_0000)
        XCTAssertEqual(bigEndianUInt32(b, at: 16), 0x0102_0304)
        XCTAssertEqual(bigEndianUInt32(b, at: 20), 0xffff_ffff, "TTT reserved")
        XCTAssertEqual(bigEndianUInt32(b, at: 24), 0, "StatSN only with S")
        XCTAssertEqual(bigEndianUInt32(b, at: 28), seq.expCmdSN)
        XCTAssertEqual(bigEndianUInt32(b, at: 32), seq.maxCmdSN)
        XCTAssertEqual(bigEndianUInt32(b, at: 36), 5, "DataSN")
        XCTAssertEqual(bigEndianUInt32(b, at: 40), 8192, "buffer offset")
        XCTAssertEqual(bigEndianUInt32(b, at: 44), 0, "residual only with S")
    }

    func testDataInFinalWithStatus() {
        let b = TargetPDU.dataIn(itt: 9, lun: 0, dataSN: 2, offset: 1024, length: 512, final: true,
                                 status: 0x00, residual: .none, seq: seq).wireBytes
        XCTAssertEqual(b[1], 0x80 | 0x01, "F and S")
        XCTAssertEqual(b[3], 0x00)
        assertSequence(b)
        XCTAssertEqual(bigEndianUInt32(b, at: 44), 0)
    }

    func testDataInWithStatusAndResidual() {
        let under = TargetPDU.dataIn(itt: 9, lun: 0, dataSN: 0, offset: 0, length: 512, final: true,
                                     status: 0x00, residual: .underflow(1536), seq: seq).wireBytes
        XCTAssertEqual(under[1], 0x80 | 0x02 | 0x01)
        XCTAssertEqual(bigEndianUInt32(under, at: 44), 1536)
        XCTAssertEqual(bigEndianUInt32(under, at: 24), seq.statSN)

        let over = TargetPDU.dataIn(itt: 9, lun: 0, dataSN: 0, offset: 0, length: 512, final: true,
                                    status: 0x00, residual: .overflow(100), seq: seq).wireBytes
        XCTAssertEqual(over[1], 0x80 | 0x04 | 0x01)
        XCTAssertEqual(bigEndianUInt32(over, at: 44), 100)
    }

    // MARK: R2T (11.8)

    func testReadyToTransfer() {
        let b = TargetPDU.readyToTransfer(itt: 0xabcd_ef01, lun: 0x0001_0000_0000_0000, ttt: 0x7777, r2tSN: 3,
                                          offset: 65536, length: 262_144, seq: seq).wireBytes
        XCTAssertEqual(b[0], 0x31)
        XCTAssertEqual(b[1], 0x80)
        XCTAssertEqual(b[4], 0)
        XCTAssertEqual(Array(b[5...7]), [0, 0, 0], "no data segment")
        XCTAssertEqual(bigEndianUInt64(b, at: 8), 0x0001_0000_0000_0000)
        XCTAssertEqual(bigEndianUInt32(b, at: 16), 0xabcd_ef01)
        XCTAssertEqual(bigEndianUInt32(b, at: 20), 0x7777, "TTT")
        assertSequence(b)
        XCTAssertEqual(bigEndianUInt32(b, at: 36), 3, "R2TSN")
        XCTAssertEqual(bigEndianUInt32(b, at: 40), 65536, "buffer offset")
        XCTAssertEqual(bigEndianUInt32(b, at: 44), 262_144, "desired data transfer length")
    }

    // MARK: Login Response (11.13)

    func testLoginResponseTransitFlagsAndStatus() {
        let isid: UInt64 = 0x8012_3456_789a
        let b = TargetPDU.loginResponse(transit: true, currentStage: 1, nextStage: 3, isid: isid, tsih: 0x0102,
                                        itt: 0x5555_6666, seq: seq, statusClass: 0, statusDetail: 0,
                                        dataLength: 100).wireBytes
        XCTAssertEqual(b[0], 0x23)
        XCTAssertEqual(b[1], 0x80 | (1 << 2) | 3, "T, CSG=1, NSG=3")
        XCTAssertEqual(b[2], 0, "version-max")
        XCTAssertEqual(b[3], 0, "version-active")
        XCTAssertEqual(Array(b[5...7]), [0, 0, 100])
        XCTAssertEqual(Array(b[8...13]), [0x80, 0x12, 0x34, 0x56, 0x78, 0x9a], "ISID")
        XCTAssertEqual(bigEndianUInt16(b, at: 14), 0x0102, "TSIH")
        XCTAssertEqual(bigEndianUInt32(b, at: 16), 0x5555_6666)
        XCTAssertEqual(bigEndianUInt32(b, at: 20), 0, "reserved")
        assertSequence(b)
        XCTAssertEqual(b[36], 0)
        XCTAssertEqual(b[37], 0)
    }

    func testLoginResponseWithoutTransitHasNoNSG() {
        let b = TargetPDU.loginResponse(transit: false, currentStage: 0, nextStage: 1, isid: 1, tsih: 0,
                                        itt: 1, seq: seq, statusClass: 0, statusDetail: 0, dataLength: 0).wireBytes
        XCTAssertEqual(b[1] & 0x80, 0, "T clear")
        XCTAssertEqual(b[1] & 0x40, 0, "C clear")
        XCTAssertEqual((b[1] >> 2) & 3, 0, "CSG 0")
        XCTAssertEqual(b[1] & 3, 0, "NSG reserved (0) without T")
    }

    func testLoginResponseFailureStatusBytes() {
        let b = TargetPDU.loginResponse(transit: false, currentStage: 1, nextStage: 0, isid: 0xffff_ffff_ffff,
                                        tsih: 0, itt: 1, seq: seq, statusClass: 2, statusDetail: 7,
                                        dataLength: 0).wireBytes
        XCTAssertEqual(b[36], 2, "status class")
        XCTAssertEqual(b[37], 7, "status detail")
        XCTAssertEqual(Array(b[38...39]), [0, 0])
        XCTAssertEqual(Array(b[8...13]), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        XCTAssertEqual(Array(b[14...15]), [0, 0])
        XCTAssertEqual((b[1] >> 2) & 3, 1)
    }

    // MARK: Reject (11.17)

    func testRejectEchoesTheOffendingHeader() throws {
        let offending = BasicHeaderSegment(opcodeByte: 0x01, flags: 0xc1, dataSegmentLength: 12,
                                           initiatorTaskTag: 0x4242, word24: 17, word32: 0x2800_0000)
        let h = TargetPDU.reject(reason: .dataDigestError, seq: seq)
        let b = h.wireBytes
        XCTAssertEqual(b[0], 0x3f)
        XCTAssertEqual(b[1], 0x80)
        XCTAssertEqual(b[2], 0x02, "reason")
        XCTAssertEqual(Array(b[5...7]), [0, 0, 48], "data segment = the 48-byte header")
        XCTAssertEqual(bigEndianUInt32(b, at: 16), 0xffff_ffff)
        assertSequence(b)

        var wire = ByteBuffer()
        PDUSerializer().serialize(h, data: ByteBuffer(bytes: offending.bytes()), into: &wire)
        let pdu = try XCTUnwrap(try PDUParser().parse(&wire))
        XCTAssertEqual(pdu.header.rawOpcode, 0x3f)
        XCTAssertEqual(pdu.header.dataSegmentLength, 48)
        XCTAssertEqual(BasicHeaderSegment.peek(from: pdu.data), offending)
    }

    // MARK: others

    func testNopInAndTextResponseAndLogout() {
        let nop = TargetPDU.nopIn(itt: 0xffff_ffff, ttt: 0x99, lun: 0, seq: seq, dataLength: 0).wireBytes
        XCTAssertEqual(nop[0], 0x20)
        XCTAssertEqual(nop[1], 0x80)
        XCTAssertEqual(bigEndianUInt32(nop, at: 20), 0x99)

        let text = TargetPDU.textResponse(itt: 4, ttt: 0xffff_ffff, final: false, continued: true, lun: 0,
                                          seq: seq, dataLength: 8).wireBytes
        XCTAssertEqual(text[0], 0x24)
        XCTAssertEqual(text[1], 0x40, "C without F")

        let logout = TargetPDU.logoutResponse(itt: 4, response: 0, seq: seq, time2Wait: 2, time2Retain: 20).wireBytes
        XCTAssertEqual(logout[0], 0x26)
        XCTAssertEqual(bigEndianUInt16(logout, at: 40), 2)
        XCTAssertEqual(bigEndianUInt16(logout, at: 42), 20)

        let tmf = TargetPDU.taskManagementResponse(itt: 8, response: .taskDoesNotExist, seq: seq).wireBytes
        XCTAssertEqual(tmf[0], 0x22)
        XCTAssertEqual(tmf[2], 1)
    }
}
