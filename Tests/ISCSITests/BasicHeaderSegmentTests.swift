import ISCSI
import NIOCore
import XCTest

/// The 48-byte BHS layout of RFC 7143 section 11.2.1.
final class BasicHeaderSegmentTests: XCTestCase {
    /// Every field set to a different, recognisable value.
    private let sample = BasicHeaderSegment(
        opcodeByte: 0x41, flags: 0xa3, byte2: 0x5a, byte3: 0xc7, totalAHSLength: 0x02,
        dataSegmentLength: 0x12_3456, lunOrSpecific: 0x0102_0304_0506_0708, initiatorTaskTag: 0x1112_1314,
        word20: 0x2122_2324, word24: 0x3132_3334, word28: 0x4142_4344, word32: 0x5152_5354,
        word36: 0x6162_6364, word40: 0x7172_7374, word44: 0x8182_8384)

    func testWriteThenPeekRoundTrip() {
        var buffer = ByteBuffer()
        sample.write(to: &buffer)
        XCTAssertEqual(buffer.readableBytes, BasicHeaderSegment.size)
        XCTAssertEqual(BasicHeaderSegment.size, 48)
        let back = BasicHeaderSegment.peek(from: buffer)
        XCTAssertEqual(back, sample)
        // peek does not consume
        XCTAssertEqual(buffer.readableBytes, 48)
    }

    func testPeekAtNonZeroReaderIndex() {
        var buffer = ByteBuffer()
        buffer.writeBytes([0xde, 0xad, 0xbe])
        sample.write(to: &buffer)
        buffer.moveReaderIndex(forwardBy: 3)
        XCTAssertEqual(BasicHeaderSegment.peek(from: buffer), sample)
    }

    func testPeekNeedsFullHeader() {
        var buffer = ByteBuffer()
        sample.write(to: &buffer)
        let partial = buffer.getSlice(at: 0, length: 47)!
        XCTAssertNil(BasicHeaderSegment.peek(from: partial))
        XCTAssertNil(BasicHeaderSegment.peek(from: ByteBuffer()))
    }

    func testBytesMatchesWrite() {
        XCTAssertEqual(sample.bytes(), sample.wireBytes)
        XCTAssertEqual(sample.bytes().count, 48)
    }

    func testFieldBytePositions() {
        let b = sample.wireBytes
        // Byte 0: immediate bit (0x40) + 6-bit opcode.
        XCTAssertEqual(b[0], 0x41)
        XCTAssertEqual(b[0] & 0x3f, 0x01)
        XCTAssertEqual(b[0] & 0x40, 0x40)
        // Byte 1: F bit is the top bit.
        XCTAssertEqual(b[1], 0xa3)
        XCTAssertEqual(b[2], 0x5a)
        XCTAssertEqual(b[3], 0xc7)
        // Byte 4: TotalAHSLength; bytes 5-7: 24-bit DataSegmentLength, big-endian.
        XCTAssertEqual(b[4], 0x02)
        XCTAssertEqual(Array(b[5...7]), [0x12, 0x34, 0x56])
        // Bytes 8-15: LUN.
        XCTAssertEqual(Array(b[8...15]), [1, 2, 3, 4, 5, 6, 7, 8])
        // Bytes 16-19: Initiator Task Tag.
        XCTAssertEqual(Array(b[16...19]), [0x11, 0x12, 0x13, 0x14])
        XCTAssertEqual(Array(b[20...23]), [0x21, 0x22, 0x23, 0x24])
        // CmdSN at 24, ExpStatSN at 28.
        XCTAssertEqual(Array(b[24...27]), [0x31, 0x32, 0x33, 0x34])
        XCTAssertEqual(Array(b[28...31]), [0x41, 0x42, 0x43, 0x44])
        // CDB at 32-47.
        XCTAssertEqual(Array(b[32...47]), [0x51, 0x52, 0x53, 0x54, 0x61, 0x62, 0x63, 0x64,
                                           0x71, 0x72, 0x73, 0x74, 0x81, 0x82, 0x83, 0x84])
    }

    func testTypedViewsOfAParsedSCSICommand() {
        // A SCSI Command as an initiator would send it (RFC 7143 section 11.3), byte by byte.
        var bytes = [UInt8](repeating: 0, count: 48)
        bytes[0] = 0x41                     // immediate, opcode 0x01
        bytes[1] = 0x80 | 0x40 | 0x01       // F, R, task attribute SIMPLE
        bytes[5] = 0x00; bytes[6] = 0x02; bytes[7] = 0x00 // DataSegmentLength 512
        bytes[8] = 0x00; bytes[9] = 0x05    // LUN 5 (single level)
        bytes[16...19] = [0xaa, 0xbb, 0xcc, 0xdd]
        bytes[20...23] = [0x00, 0x01, 0x00, 0x00] // EDTL 65536
        bytes[24...27] = [0x00, 0x00, 0x00, 0x2a] // CmdSN 42
        bytes[28...31] = [0x00, 0x00, 0x00, 0x07] // ExpStatSN 7
        let cdb: [UInt8] = [0x28, 0, 0, 0, 0x10, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x99]
        bytes[32...47] = cdb[0...]
        let h = BasicHeaderSegment.peek(from: ByteBuffer(bytes: bytes))!
        XCTAssertTrue(h.isImmediate)
        XCTAssertTrue(h.isFinal)
        XCTAssertEqual(h.rawOpcode, 0x01)
        XCTAssertEqual(h.initiatorOpcode, .scsiCommand)
        XCTAssertTrue(h.readFlag)
        XCTAssertFalse(h.writeFlag)
        XCTAssertEqual(h.taskAttribute, 1)
        XCTAssertEqual(h.dataSegmentLength, 512)
        XCTAssertEqual(h.lun, 0x0005_0000_0000_0000)
        XCTAssertEqual(h.initiatorTaskTag, 0xaabb_ccdd)
        XCTAssertEqual(h.expectedDataTransferLength, 65536)
        XCTAssertEqual(h.cmdSN, 42)
        XCTAssertEqual(h.expStatSN, 7)
        XCTAssertEqual(h.cdbHigh, bigEndianUInt64(cdb, at: 0))
        XCTAssertEqual(h.cdbLow, bigEndianUInt64(cdb, at: 8))
        XCTAssertEqual(h.wireBytes, bytes)
    }

    func testNonImmediateAndNotFinal() {
        let h = BasicHeaderSegment(opcodeByte: 0x05, flags: 0x00)
        XCTAssertFalse(h.isImmediate)
        XCTAssertFalse(h.isFinal)
        XCTAssertEqual(h.initiatorOpcode, .dataOut)
    }

    func testDataSegmentLengthIsTwentyFourBits() {
        // Only 24 bits exist on the wire: a larger value must not spill into TotalAHSLength.
        let h = BasicHeaderSegment(totalAHSLength: 0x01, dataSegmentLength: 0xffff_ffff)
        let b = h.wireBytes
        XCTAssertEqual(b[4], 0x01)
        XCTAssertEqual(Array(b[5...7]), [0xff, 0xff, 0xff])
        let back = BasicHeaderSegment.peek(from: ByteBuffer(bytes: b))!
        XCTAssertEqual(back.totalAHSLength, 1)
        XCTAssertEqual(back.dataSegmentLength, 0x00ff_ffff)
    }

    func testLoginViews() {
        // Login Request (RFC 7143 section 11.12): T C . . CSG NSG in byte 1; ISID bytes 8-13, TSIH 14-15, CID 20-21.
        var bytes = [UInt8](repeating: 0, count: 48)
        bytes[0] = 0x43
        bytes[1] = 0x80 | 0x40 | (1 << 2) | 3
        bytes[2] = 0x00 // version-max
        bytes[3] = 0x00 // version-min
        bytes[8...13] = [0x80, 0x12, 0x34, 0x56, 0x78, 0x9a]
        bytes[14...15] = [0x00, 0x2b]
        bytes[20...21] = [0x00, 0x03]
        let h = BasicHeaderSegment.peek(from: ByteBuffer(bytes: bytes))!
        XCTAssertEqual(h.initiatorOpcode, .loginRequest)
        XCTAssertTrue(h.transit)
        XCTAssertTrue(h.continueFlag)
        XCTAssertEqual(h.currentStage, 1)
        XCTAssertEqual(h.nextStage, 3)
        XCTAssertEqual(h.isid, 0x8012_3456_789a)
        XCTAssertEqual(h.tsih, 0x2b)
        XCTAssertEqual(h.connectionID, 3)
    }
}
