import ISCSI
import NIOCore
import XCTest

/// Deterministic pseudo-random numbers (SplitMix64) so that "random" tests are repeatable.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// An independent bitwise CRC32C (Castagnoli, reflected polynomial 0x82F63B78), used as an
/// oracle for the table/hardware implementation under test.
func referenceCRC32C(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xffff_ffff
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc >> 1) ^ ((crc & 1) != 0 ? 0x82f6_3b78 : 0) }
    }
    return crc ^ 0xffff_ffff
}

func littleEndianBytes(_ v: UInt32) -> [UInt8] {
    [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8),
     UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24)]
}

func bigEndianUInt32(_ bytes: [UInt8], at i: Int) -> UInt32 {
    UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
}

func bigEndianUInt16(_ bytes: [UInt8], at i: Int) -> UInt16 {
    UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
}

func bigEndianUInt64(_ bytes: [UInt8], at i: Int) -> UInt64 {
    UInt64(bigEndianUInt32(bytes, at: i)) << 32 | UInt64(bigEndianUInt32(bytes, at: i + 4))
}

extension ByteBuffer {
    /// All readable bytes, without moving the reader index.
    var allBytes: [UInt8] { getBytes(at: readerIndex, length: readableBytes) ?? [] }
}

extension BasicHeaderSegment {
    /// The 48 wire bytes of this header.
    var wireBytes: [UInt8] {
        var b = ByteBuffer()
        write(to: &b)
        return b.allBytes
    }
}

/// Runs the parser once, returning either the PDU (or nil) or the typed error.
func parseResult(_ parser: PDUParser, _ buffer: inout ByteBuffer) -> Result<PDU?, ISCSIError> {
    do {
        return .success(try parser.parse(&buffer))
    } catch {
        return .failure(error)
    }
}
