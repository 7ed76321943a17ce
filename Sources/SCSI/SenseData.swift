/// Sense data for a CHECK CONDITION (SPC-4 4.5). Build it from the catalogue in
/// `SenseData+Catalog.swift`; serialise it with `fixedFormat()` or `descriptorFormat()`
/// (the transport picks the format from the control mode page's D_SENSE bit,
/// `LogicalUnitState.descriptorSense`).
public struct SenseData: Sendable, Equatable, Hashable, Error {
    /// Sense-key specific "field pointer" (SPC-4 4.5.2.4.2), used with ILLEGAL REQUEST.
    public struct FieldPointer: Sendable, Equatable, Hashable {
        /// C/D: true when the field is in the CDB, false when in the parameter list.
        public var isCDB: Bool
        /// Byte offset of the (first byte of the) offending field.
        public var byte: UInt16
        /// Bit within `byte` of the field's most significant bit; nil when the whole byte is meant.
        public var bit: UInt8?

        public init(isCDB: Bool, byte: UInt16, bit: UInt8? = nil) {
            self.isCDB = isCDB
            self.byte = byte
            self.bit = bit
        }

        /// The three sense-key specific bytes (SKSV set).
        var bytes: (UInt8, UInt8, UInt8) {
            var first: UInt8 = 0x80
            if isCDB { first |= 0x40 }
            if let bit { first |= 0x08 | (bit & 0x07) }
            return (first, UInt8(truncatingIfNeeded: byte >> 8), UInt8(truncatingIfNeeded: byte))
        }
    }

    public var key: SenseKey
    public var asc: UInt8
    public var ascq: UInt8
    /// INFORMATION field; non-nil sets VALID (e.g. the miscompare offset, SBC-4 5.22).
    public var information: UInt64?
    public var fieldPointer: FieldPointer?
    /// Sense-key specific "progress indication" (SPC-4 4.5.2.4.4) of NOT READY during a
    /// long operation: done so far, in 65536ths. Ignored when `fieldPointer` is set.
    public var progress: UInt16?

    public init(key: SenseKey, asc: UInt8, ascq: UInt8,
                information: UInt64? = nil, fieldPointer: FieldPointer? = nil, progress: UInt16? = nil) {
        self.key = key
        self.asc = asc
        self.ascq = ascq
        self.information = information
        self.fieldPointer = fieldPointer
        self.progress = progress
    }

    /// The three sense-key specific bytes with SKSV set, when there are any.
    var senseKeySpecific: (UInt8, UInt8, UInt8)? {
        if let fieldPointer { return fieldPointer.bytes }
        if let progress { return (0x80, UInt8(progress >> 8), UInt8(progress & 0xFF)) }
        return nil
    }

    /// The 16-bit additional sense code and qualifier, e.g. 0x2400.
    public var additionalSenseCode: UInt16 { UInt16(asc) << 8 | UInt16(ascq) }

    /// Fixed-format sense data, response code 0x70 (current), always 18 bytes.
    /// An INFORMATION value that does not fit in 32 bits leaves VALID clear (SPC-4 4.5.3).
    public func fixedFormat() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 18)
        out[0] = 0x70
        if let information, information <= UInt64(UInt32.max) {
            out[0] |= 0x80
            out.putBE32(UInt32(information), at: 3)
        }
        out[2] = key.rawValue
        out[7] = 10 // additional sense length: bytes 8-17
        out[12] = asc
        out[13] = ascq
        if let sks = senseKeySpecific {
            out[15] = sks.0
            out[16] = sks.1
            out[17] = sks.2
        }
        return out
    }

    /// Descriptor-format sense data, response code 0x72 (current), with an information
    /// descriptor (type 0) and a sense-key specific descriptor (type 2) when applicable.
    public func descriptorFormat() -> [UInt8] {
        var out: [UInt8] = [0x72, key.rawValue, asc, ascq, 0, 0, 0, 0]
        if let information {
            out += [0x00, 0x0A, 0x80, 0x00]
            out.appendBE64(information)
        }
        if let sks = senseKeySpecific {
            out += [0x02, 0x06, 0x00, 0x00, sks.0, sks.1, sks.2, 0x00]
        }
        out[7] = UInt8(out.count - 8)
        return out
    }

    /// Serialises in the format the initiator asked for (D_SENSE or REQUEST SENSE DESC).
    public func bytes(descriptorFormat descriptor: Bool) -> [UInt8] {
        descriptor ? descriptorFormat() : fixedFormat()
    }
}

extension SenseData {
    /// The sense key and ASC/ASCQ of formatted sense bytes, fixed (response codes 70h/71h,
    /// SPC-4 4.5.3) or descriptor (72h/73h, 4.5.2); nil for anything else or too short.
    public static func keyAndCodes(in bytes: [UInt8]) -> (key: SenseKey, asc: UInt8, ascq: UInt8)? {
        guard let code = bytes.first.map({ $0 & 0x7F }) else { return nil }
        switch code {
        case 0x70, 0x71:
            guard bytes.count >= 14, let key = SenseKey(rawValue: bytes[2] & 0x0F) else { return nil }
            return (key, bytes[12], bytes[13])
        case 0x72, 0x73:
            guard bytes.count >= 4, let key = SenseKey(rawValue: bytes[1] & 0x0F) else { return nil }
            return (key, bytes[2], bytes[3])
        default:
            return nil
        }
    }
}
