/// Where the fields of the SBC-4 READ / WRITE / WRITE AND VERIFY / VERIFY /
/// SYNCHRONIZE CACHE / PRE-FETCH CDBs live. One row per opcode; `BlockCommand` interprets them.
struct BlockCommandLayout: Sendable {
    enum Operation: Sendable {
        case read, write, writeAndVerify, verify, synchronizeCache, preFetch

        /// How reservations see it (SBC-4 table 13).
        var reservationClass: ReservationClass {
            switch self {
            case .read, .verify, .preFetch: return .read
            case .write, .writeAndVerify, .synchronizeCache: return .write
            }
        }
    }

    enum Form: Sendable {
        /// 6-byte CDB: 21-bit LBA in bytes 1-3, 8-bit TRANSFER LENGTH in byte 4 (0 means 256).
        case six
        /// LBA of `lbaBytes` bytes at `lbaOffset`, length of `lengthBytes` bytes at `lengthOffset`.
        case long(lbaOffset: Int, lbaBytes: Int, lengthOffset: Int, lengthBytes: Int)
    }

    let opcode: UInt8
    let name: String
    let operation: Operation
    let form: Form
    /// CDB USAGE DATA for REPORT SUPPORTED OPERATION CODES.
    let usage: [UInt8]

    /// Byte 1 bits 7-5: RDPROTECT / WRPROTECT / VRPROTECT (10/12/16-byte READ, WRITE,
    /// WRITE AND VERIFY, VERIFY).
    var hasProtectField: Bool {
        if case .six = form { return false }
        return operation != .synchronizeCache && operation != .preFetch
    }

    /// Byte 1 bit 3: FUA (10/12/16-byte READ and WRITE).
    var hasFUA: Bool {
        if case .six = form { return false }
        return operation == .read || operation == .write
    }

    /// Byte 1 bits 2-1: BYTCHK (WRITE AND VERIFY, VERIFY).
    var hasByteCheck: Bool { operation == .writeAndVerify || operation == .verify }

    /// Offset of the TRANSFER LENGTH / NUMBER OF LOGICAL BLOCKS field.
    var lengthOffset: Int {
        switch form {
        case .six: return 4
        case .long(_, _, let offset, _): return offset
        }
    }

    static let all: [BlockCommandLayout] = [
        // 6-byte
        row(0x08, "READ(6)", .read, .six, flags: 0x1F),
        row(0x0A, "WRITE(6)", .write, .six, flags: 0x1F),
        // 10-byte: LBA bytes 2-5, GROUP NUMBER byte 6, length bytes 7-8
        row(0x28, "READ(10)", .read, ten, flags: 0xF8),
        row(0x2A, "WRITE(10)", .write, ten, flags: 0xF8),
        row(0x2E, "WRITE AND VERIFY(10)", .writeAndVerify, ten, flags: 0xF6),
        row(0x2F, "VERIFY(10)", .verify, ten, flags: 0xF6),
        row(0x34, "PRE-FETCH(10)", .preFetch, ten, flags: 0x02),
        row(0x35, "SYNCHRONIZE CACHE(10)", .synchronizeCache, ten, flags: 0x02),
        // 16-byte: LBA bytes 2-9, length bytes 10-13, GROUP NUMBER byte 14
        row(0x88, "READ(16)", .read, sixteen, flags: 0xF8),
        row(0x8A, "WRITE(16)", .write, sixteen, flags: 0xF8),
        row(0x8E, "WRITE AND VERIFY(16)", .writeAndVerify, sixteen, flags: 0xF6),
        row(0x8F, "VERIFY(16)", .verify, sixteen, flags: 0xF6),
        row(0x90, "PRE-FETCH(16)", .preFetch, sixteen, flags: 0x02),
        row(0x91, "SYNCHRONIZE CACHE(16)", .synchronizeCache, sixteen, flags: 0x02),
        // 12-byte: LBA bytes 2-5, length bytes 6-9, GROUP NUMBER byte 10
        row(0xA8, "READ(12)", .read, twelve, flags: 0xF8),
        row(0xAA, "WRITE(12)", .write, twelve, flags: 0xF8),
        row(0xAE, "WRITE AND VERIFY(12)", .writeAndVerify, twelve, flags: 0xF6),
        row(0xAF, "VERIFY(12)", .verify, twelve, flags: 0xF6),
    ]

    private static let ten = Form.long(lbaOffset: 2, lbaBytes: 4, lengthOffset: 7, lengthBytes: 2)
    private static let twelve = Form.long(lbaOffset: 2, lbaBytes: 4, lengthOffset: 6, lengthBytes: 4)
    private static let sixteen = Form.long(lbaOffset: 2, lbaBytes: 8, lengthOffset: 10, lengthBytes: 4)

    /// Builds a row; `flags` is the usage mask of byte 1. Usage marks the LBA and length
    /// fields, byte 1 flags and the CONTROL byte (NACA, LINK); GROUP NUMBER is ignored.
    private static func row(_ opcode: UInt8, _ name: String, _ operation: Operation, _ form: Form,
                            flags: UInt8) -> BlockCommandLayout {
        var usage: [UInt8]
        switch form {
        case .six:
            usage = [opcode, flags, 0xFF, 0xFF, 0xFF, 0x07]
        case .long(let lbaOffset, let lbaBytes, let lengthOffset, let lengthBytes):
            let length = lbaBytes == 8 ? 16 : (lengthBytes == 4 ? 12 : 10)
            usage = [UInt8](repeating: 0, count: length)
            usage[0] = opcode
            usage[1] = flags
            for i in lbaOffset..<(lbaOffset + lbaBytes) { usage[i] = 0xFF }
            for i in lengthOffset..<(lengthOffset + lengthBytes) { usage[i] = 0xFF }
            usage[length - 1] = 0x07
        }
        return BlockCommandLayout(opcode: opcode, name: name, operation: operation, form: form, usage: usage)
    }
}
