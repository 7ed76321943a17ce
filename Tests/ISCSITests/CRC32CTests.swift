import ISCSI
import NIOCore
import XCTest

/// CRC32C test vectors from RFC 3720 appendix B.4 (carried over unchanged by RFC 7143).
/// The RFC lists the CRC as the bytes sent on the wire; as a UInt32 that is the little-endian
/// reading of those bytes (e.g. "aa 36 91 8a" -> 0x8a9136aa).
final class CRC32CTests: XCTestCase {
    func testThirtyTwoZeroBytes() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8a91_36aa)
    }

    func testThirtyTwoOnesBytes() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xff, count: 32)), 0x62a8_ab43)
    }

    func testIncrementingBytes() {
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46dd_794e)
    }

    func testDecrementingBytes() {
        XCTAssertEqual(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }), 0x113f_db5c)
    }

    /// RFC 3720 B.4: "An iSCSI - SCSI Read (10) Command PDU", CRC bytes 56 3a 96 d9.
    static let rfcReadCommandPDU: [UInt8] = [
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    func testRFCReadCommandPDU() {
        let crc = CRC32C.checksum(Self.rfcReadCommandPDU)
        XCTAssertEqual(crc, 0xd996_3a56)
        XCTAssertEqual(littleEndianBytes(crc), [0x56, 0x3a, 0x96, 0xd9])
    }

    func testStandardCheckValue() {
        // The CRC-32C "check" value over ASCII "123456789".
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xe306_9283)
    }

    func testEmptyInput() {
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32C.checksum(ByteBuffer(), at: 0, length: 0), 0)
    }

    func testAgreesWithBitwiseReferenceOnManyLengths() {
        // Lengths around the sizes where hardware/sliced implementations switch strategy.
        var rng = SeededGenerator(seed: 0xc5c3_2c)
        for length in [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 255, 256, 257, 1000, 4096, 8193] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(CRC32C.checksum(bytes), referenceCRC32C(bytes), "length \(length)")
        }
    }

    func testUnsafeRawBufferVariant() {
        let bytes = Self.rfcReadCommandPDU
        bytes.withUnsafeBytes { raw in
            XCTAssertEqual(CRC32C.checksum(raw), 0xd996_3a56)
        }
    }

    func testByteBufferOffsetVariant() {
        // The RFC read command buried inside a buffer with junk before and after it, and a
        // reader index that is not zero: the index argument is absolute.
        var buffer = ByteBuffer()
        buffer.writeBytes([0x99, 0x98, 0x97, 0x96, 0x95])
        buffer.writeBytes(Self.rfcReadCommandPDU)
        buffer.writeBytes([0x11, 0x22])
        buffer.moveReaderIndex(forwardBy: 2)
        XCTAssertEqual(CRC32C.checksum(buffer, at: 5, length: 48), 0xd996_3a56)
        XCTAssertEqual(CRC32C.checksum(buffer, at: buffer.readerIndex, length: 3),
                       CRC32C.checksum([0x97, 0x96, 0x95]))
    }

    func testByteBufferVariantWithPadding() {
        // Data digests cover the pad bytes (RFC 7143 section 13.1): 5 data bytes + 3 zeros.
        let data: [UInt8] = [0x10, 0x20, 0x30, 0x40, 0x50]
        var buffer = ByteBuffer()
        buffer.writeBytes([0xee, 0xee])
        buffer.writeBytes(data)
        buffer.writeBytes([0xff, 0xff, 0xff]) // not padding: must not be read
        buffer.moveReaderIndex(forwardBy: 1)
        let expected = referenceCRC32C(data + [0, 0, 0])
        XCTAssertEqual(CRC32C.checksum(buffer, at: 2, length: 5, padding: 3), expected)
        XCTAssertEqual(CRC32C.checksum(data + [0, 0, 0]), expected)
        XCTAssertNotEqual(CRC32C.checksum(buffer, at: 2, length: 5, padding: 0), expected)
        // Padding alone (no data bytes).
        XCTAssertEqual(CRC32C.checksum(buffer, at: 2, length: 0, padding: 3), referenceCRC32C([0, 0, 0]))
    }
}
