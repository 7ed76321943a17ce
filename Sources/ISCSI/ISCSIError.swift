/// Everything that can go wrong below the SCSI layer on one connection, with the context a
/// log line needs.
public enum ISCSIError: Error, Sendable, Equatable, CustomStringConvertible {
    case headerDigestMismatch(expected: UInt32, actual: UInt32)
    case dataDigestMismatch(header: BasicHeaderSegment)
    case dataSegmentTooLong(header: BasicHeaderSegment, length: Int, limit: Int)
    case malformedText(String)

    public var description: String {
        switch self {
        case let .headerDigestMismatch(expected, actual):
            return "header digest mismatch (received 0x\(String(expected, radix: 16)), computed 0x\(String(actual, radix: 16)))"
        case let .dataDigestMismatch(header):
            return "data digest mismatch on opcode 0x\(String(header.rawOpcode, radix: 16)) ITT 0x\(String(header.initiatorTaskTag, radix: 16))"
        case let .dataSegmentTooLong(header, length, limit):
            return "data segment of \(length) bytes exceeds MaxRecvDataSegmentLength \(limit) (opcode 0x\(String(header.rawOpcode, radix: 16)))"
        case let .malformedText(why):
            return "malformed text parameters: \(why)"
        }
    }
}
