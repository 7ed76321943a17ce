import NIOCore

/// The 48-byte Basic Header Segment of every iSCSI PDU (RFC 7143 section 11.2.1), held as
/// plain fields so that decoding is a handful of loads and no allocation. Opcode-specific
/// meanings of the words live in the typed views (`SCSICommandView` etc.) and in the
/// builders in `TargetPDUs.swift`.
public struct BasicHeaderSegment: Sendable, Equatable {
    public static let size = 48

    /// Byte 0: the immediate bit (0x40) and the 6-bit opcode.
    public var opcodeByte: UInt8
    /// Byte 1: the final bit (0x80) and opcode-specific flags.
    public var flags: UInt8
    public var byte2: UInt8
    public var byte3: UInt8
    /// In 4-byte words.
    public var totalAHSLength: UInt8
    /// 24 bits: the data segment's length without padding.
    public var dataSegmentLength: UInt32
    /// Bytes 8-15: LUN, or ISID+TSIH in login PDUs.
    public var lunOrSpecific: UInt64
    public var initiatorTaskTag: UInt32
    public var word20: UInt32
    public var word24: UInt32
    public var word28: UInt32
    public var word32: UInt32
    public var word36: UInt32
    public var word40: UInt32
    public var word44: UInt32

    public init(opcodeByte: UInt8 = 0, flags: UInt8 = 0, byte2: UInt8 = 0, byte3: UInt8 = 0,
                totalAHSLength: UInt8 = 0, dataSegmentLength: UInt32 = 0, lunOrSpecific: UInt64 = 0,
                initiatorTaskTag: UInt32 = 0, word20: UInt32 = 0, word24: UInt32 = 0,
                word28: UInt32 = 0, word32: UInt32 = 0, word36: UInt32 = 0, word40: UInt32 = 0,
                word44: UInt32 = 0) {
        self.opcodeByte = opcodeByte
        self.flags = flags
        self.byte2 = byte2
        self.byte3 = byte3
        self.totalAHSLength = totalAHSLength
        self.dataSegmentLength = dataSegmentLength
        self.lunOrSpecific = lunOrSpecific
        self.initiatorTaskTag = initiatorTaskTag
        self.word20 = word20
        self.word24 = word24
        self.word28 = word28
        self.word32 = word32
        self.word36 = word36
        self.word40 = word40
        self.word44 = word44
    }

    public var rawOpcode: UInt8 { opcodeByte & 0x3f }
    public var isImmediate: Bool { opcodeByte & 0x40 != 0 }
    public var isFinal: Bool { flags & 0x80 != 0 }
    public var initiatorOpcode: InitiatorOpcode? { InitiatorOpcode(rawValue: rawOpcode) }

    /// Reads 48 bytes at the reader index without moving it.
    public static func peek(from buffer: ByteBuffer) -> BasicHeaderSegment? {
        guard buffer.readableBytes >= size else { return nil }
        let i = buffer.readerIndex
        guard let w0 = buffer.getInteger(at: i, as: UInt32.self),
              let w4 = buffer.getInteger(at: i + 4, as: UInt32.self),
              let lun = buffer.getInteger(at: i + 8, as: UInt64.self),
              let itt = buffer.getInteger(at: i + 16, as: UInt32.self),
              let w20 = buffer.getInteger(at: i + 20, as: UInt32.self),
              let w24 = buffer.getInteger(at: i + 24, as: UInt32.self),
              let w28 = buffer.getInteger(at: i + 28, as: UInt32.self),
              let w32 = buffer.getInteger(at: i + 32, as: UInt32.self),
              let w36 = buffer.getInteger(at: i + 36, as: UInt32.self),
              let w40 = buffer.getInteger(at: i + 40, as: UInt32.self),
              let w44 = buffer.getInteger(at: i + 44, as: UInt32.self)
        else { return nil }
        return BasicHeaderSegment(
            opcodeByte: UInt8(truncatingIfNeeded: w0 >> 24), flags: UInt8(truncatingIfNeeded: w0 >> 16),
            byte2: UInt8(truncatingIfNeeded: w0 >> 8), byte3: UInt8(truncatingIfNeeded: w0),
            totalAHSLength: UInt8(truncatingIfNeeded: w4 >> 24), dataSegmentLength: w4 & 0x00ff_ffff,
            lunOrSpecific: lun, initiatorTaskTag: itt, word20: w20, word24: w24, word28: w28,
            word32: w32, word36: w36, word40: w40, word44: w44)
    }

    /// Appends the 48 bytes to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        let w0 = UInt32(opcodeByte) << 24 | UInt32(flags) << 16 | UInt32(byte2) << 8 | UInt32(byte3)
        let w4 = UInt32(totalAHSLength) << 24 | (dataSegmentLength & 0x00ff_ffff)
        buffer.writeMultipleIntegers(w0, w4, lunOrSpecific, initiatorTaskTag, word20, word24)
        buffer.writeMultipleIntegers(word28, word32, word36, word40, word44)
    }

    /// The header as bytes, for Reject PDUs that must echo the offending header.
    public func bytes() -> [UInt8] {
        var b = ByteBuffer()
        b.reserveCapacity(Self.size)
        write(to: &b)
        return b.readBytes(length: Self.size) ?? []
    }
}
