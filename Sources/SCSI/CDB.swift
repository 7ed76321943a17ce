/// A SCSI command descriptor block of up to 16 bytes, held inline so that decoding
/// never touches the heap. Bytes 0-7 live in `high` and bytes 8-15 in `low`, both
/// big-endian (byte 0 is the most significant byte of `high`).
public struct CDB: Sendable, Equatable, Hashable {
    public var high: UInt64
    public var low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds a CDB from raw bytes; shorter input is zero-padded, longer input truncated to 16.
    public init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// Builds a CDB from raw bytes; shorter input is zero-padded, longer input truncated to 16.
    public init(_ bytes: ArraySlice<UInt8>) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (i, byte) in bytes.prefix(16).enumerated() {
            if i < 8 {
                high |= UInt64(byte) << UInt64(56 - 8 * i)
            } else {
                low |= UInt64(byte) << UInt64(56 - 8 * (i - 8))
            }
        }
        self.init(high: high, low: low)
    }

    /// Byte `i` (0-15); indexes outside that range read as zero.
    @inlinable
    public subscript(i: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: window(at: i) >> 56)
    }

    @inlinable
    public var opcode: UInt8 { UInt8(truncatingIfNeeded: high >> 56) }

    /// The eight bytes starting at `offset` as a big-endian integer (zeros past byte 15).
    @inlinable
    func window(at offset: Int) -> UInt64 {
        if offset < 0 || offset >= 16 { return 0 }
        if offset < 8 {
            // Smart shifts: a shift by 64 yields zero, which is what offset 0 needs.
            return (high << UInt64(8 * offset)) | (low >> UInt64(64 - 8 * offset))
        }
        return low << UInt64(8 * (offset - 8))
    }

    @inlinable
    public func u16(at offset: Int) -> UInt16 { UInt16(truncatingIfNeeded: window(at: offset) >> 48) }

    @inlinable
    public func u24(at offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: window(at: offset) >> 40) }

    @inlinable
    public func u32(at offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: window(at: offset) >> 32) }

    @inlinable
    public func u64(at offset: Int) -> UInt64 { window(at: offset) }

    /// All 16 bytes.
    public var bytes: [UInt8] { (0..<16).map { self[$0] } }
}

extension CDB: CustomStringConvertible {
    public var description: String {
        let hex = bytes.map { byte -> String in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }
        return "CDB(" + hex.joined(separator: " ") + ")"
    }
}
