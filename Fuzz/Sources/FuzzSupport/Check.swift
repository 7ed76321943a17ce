#if canImport(Glibc)
import Glibc
#endif

/// Fails the fuzz run (libFuzzer saves the input as a crash artifact) when an invariant does
/// not hold. Invariants are facts the specs or the code's documented contract make certain;
/// a failure is a bug to fix in Sources, or a wrong invariant to fix here.
@inline(__always)
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        let text = "FUZZ INVARIANT FAILED (\(file):\(line)): \(message())\n"
        var bytes = Array(text.utf8)
        _ = write(2, &bytes, bytes.count)
        abort()
    }
}

/// Reads fields off the fuzz input; past the end it yields zeros, so every input is usable.
public struct FuzzReader {
    public let bytes: [UInt8]
    public private(set) var index = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { index >= bytes.count }
    public var remaining: Int { max(0, bytes.count - index) }

    public mutating func byte() -> UInt8 {
        defer { index += 1 }
        return index < bytes.count ? bytes[index] : 0
    }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in byte() }
    }

    public mutating func u16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }
    public mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }
    public mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }

    /// Everything not read yet.
    public mutating func rest() -> ArraySlice<UInt8> {
        defer { index = bytes.count }
        return index < bytes.count ? bytes[index...] : []
    }
}

/// An independent table-driven CRC32C (Castagnoli, reflected 0x82F63B78), the oracle for the
/// digests the PDU parser accepts.
public enum ReferenceCRC32C {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c >> 1) ^ ((c & 1) != 0 ? 0x82f6_3b78 : 0) }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xffff_ffff
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xffff_ffff
    }
}

extension Collection where Element == UInt8 {
    /// Big-endian integer of `count` bytes at `offset` from the start.
    public func bigEndian(at offset: Int, count: Int) -> UInt64 {
        var value: UInt64 = 0
        var i = index(startIndex, offsetBy: offset)
        for _ in 0..<count {
            value = value << 8 | UInt64(self[i])
            i = index(after: i)
        }
        return value
    }
}
