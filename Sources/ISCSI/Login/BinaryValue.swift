/// Binary values in login text (RFC 7143 section 6.1): `0x` or `0X` followed by hexadecimal
/// digits, or `0b` or `0B` followed by base64 (RFC 4648). The prefix is required.
enum BinaryValue {
    /// The bytes a binary value encodes, or nil when the text is not a valid binary value.
    ///
    /// Hex digits are accepted in either case. The RFC counts a hex constant of n digits as
    /// (n+1)/2 bytes, so an odd number of digits is allowed: the first digit stands alone for
    /// the most significant byte (`0x123` is 01 23), as open-iscsi reads it. Base64 padding may
    /// be left out.
    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count > 2, utf8[0] == UInt8(ascii: "0") else { return nil }
        let body = utf8[2...]
        switch utf8[1] {
        case UInt8(ascii: "x"), UInt8(ascii: "X"): return decodeHex(body)
        case UInt8(ascii: "b"), UInt8(ascii: "B"): return decodeBase64(body)
        default: return nil
        }
    }

    /// `0x` followed by two lowercase hex digits per byte.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "0"), UInt8(ascii: "x")]
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func decodeHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity((digits.count + 1) / 2)
        var i = digits.startIndex
        if digits.count % 2 == 1 {
            guard let n = nibble(digits[i]) else { return nil }
            out.append(n)
            i += 1
        }
        while i < digits.endIndex {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func decodeBase64(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        // Padding only at the end, at most two '='.
        var end = text.endIndex
        while end > text.startIndex, text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        let padding = text.endIndex - end
        let chars = text[text.startIndex..<end]
        guard padding <= 2, !chars.isEmpty, chars.count % 4 != 1 else { return nil }
        if padding > 0 { guard (chars.count + padding) % 4 == 0 else { return nil } }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in chars {
            guard let v = sextet(c) else { return nil }
            accumulator = accumulator << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }

    private static func sextet(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
