import Foundation
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

/// An independent MD5 (RFC 1321), straight from the RFC's description, used as an oracle for
/// CHAP responses. Checked against the RFC's own test suite in CHAPLoginTests.
func referenceMD5(_ message: [UInt8]) -> [UInt8] {
    let shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                            5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                            4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                            6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    // T[i] = floor(2^32 * abs(sin(i + 1))) (RFC 1321 section 3.4).
    let table: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64((abs(sin(Double($0 + 1))) * 4_294_967_296).rounded(.down))) }
    var state: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476]
    var padded = message
    padded.append(0x80)
    while padded.count % 64 != 56 { padded.append(0) }
    let bitLength = UInt64(message.count) * 8
    for i in 0..<8 { padded.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
    for block in stride(from: 0, to: padded.count, by: 64) {
        let words: [UInt32] = (0..<16).map { i in
            let j = block + 4 * i
            return UInt32(padded[j]) | UInt32(padded[j + 1]) << 8 | UInt32(padded[j + 2]) << 16 | UInt32(padded[j + 3]) << 24
        }
        var (a, b, c, d) = (state[0], state[1], state[2], state[3])
        for i in 0..<64 {
            var f: UInt32
            let g: Int
            switch i {
            case 0..<16: f = (b & c) | (~b & d); g = i
            case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
            case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
            default: f = c ^ (b | ~d); g = (7 * i) % 16
            }
            f = f &+ a &+ table[i] &+ words[g]
            (a, d, c) = (d, c, b)
            b = b &+ (f << shifts[i] | f >> (32 - shifts[i]))
        }
        state[0] &+= a
        state[1] &+= b
        state[2] &+= c
        state[3] &+= d
    }
    return state.flatMap { littleEndianBytes($0) }
}

/// Lowercase hex without prefix.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// Standard base64 with padding (RFC 4648 section 4).
func base64String(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    var out = ""
    for i in stride(from: 0, to: bytes.count, by: 3) {
        let chunk = Array(bytes[i..<min(i + 3, bytes.count)])
        let n = UInt32(chunk[0]) << 16 | UInt32(chunk.count > 1 ? chunk[1] : 0) << 8 | UInt32(chunk.count > 2 ? chunk[2] : 0)
        for j in 0..<4 {
            out.append(j <= chunk.count ? alphabet[Int(n >> UInt32(18 - 6 * j) & 63)] : "=")
        }
    }
    return out
}

/// Parses "0x..." (even length) for test assertions.
func bytesFromHex(_ text: String) -> [UInt8]? {
    guard text.hasPrefix("0x") || text.hasPrefix("0X") else { return nil }
    let digits = Array(text.dropFirst(2))
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    for i in stride(from: 0, to: digits.count, by: 2) {
        guard let b = UInt8(String(digits[i...i + 1]), radix: 16) else { return nil }
        out.append(b)
    }
    return out
}
