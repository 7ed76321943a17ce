/// Big-endian builders for response data. Internal: every response buffer goes through these.
extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendBE16(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    mutating func appendBE24(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    mutating func appendBE32(_ value: UInt32) {
        appendBE16(UInt16(truncatingIfNeeded: value >> 16))
        appendBE16(UInt16(truncatingIfNeeded: value))
    }

    @inline(__always)
    mutating func appendBE64(_ value: UInt64) {
        appendBE32(UInt32(truncatingIfNeeded: value >> 32))
        appendBE32(UInt32(truncatingIfNeeded: value))
    }

    mutating func appendZeros(_ count: Int) {
        append(contentsOf: repeatElement(0, count: count))
    }

    /// Appends `text` as printable ASCII (SPC-4 4.3.1), space-padded or truncated to `width`.
    mutating func appendASCII(_ text: String, width: Int) {
        var written = 0
        for unit in text.utf8 where written < width {
            append((0x20...0x7E).contains(unit) ? unit : 0x20)
            written += 1
        }
        append(contentsOf: repeatElement(0x20, count: width - written))
    }

    mutating func putBE16(_ value: UInt16, at index: Int) {
        self[index] = UInt8(truncatingIfNeeded: value >> 8)
        self[index + 1] = UInt8(truncatingIfNeeded: value)
    }

    mutating func putBE32(_ value: UInt32, at index: Int) {
        putBE16(UInt16(truncatingIfNeeded: value >> 16), at: index)
        putBE16(UInt16(truncatingIfNeeded: value), at: index + 2)
    }

    /// The first `allocationLength` bytes (SPC-4 4.2.5.6: the device server transfers at most that).
    func truncated(to allocationLength: Int) -> [UInt8] {
        allocationLength >= count ? self : Array(prefix(allocationLength))
    }
}

/// Big-endian fields of parameter lists (the caller has checked the length).
extension Array where Element == UInt8 {
    func be16(at i: Int) -> UInt16 { UInt16(self[i]) << 8 | UInt16(self[i + 1]) }
    func be32(at i: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(self[i + $1]) } }
    func be64(at i: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(self[i + $1]) } }
}
