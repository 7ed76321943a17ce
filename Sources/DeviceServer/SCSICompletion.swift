import NIOCore
import SCSI

/// SCSI status codes a command ends with (SAM-5 5.3.1).
public enum SCSIStatus: UInt8, Sendable, Equatable {
    case good = 0x00
    case checkCondition = 0x02
    case reservationConflict = 0x18
}

/// How the bytes the command moved compare with what the initiator expected to move
/// (RFC 7143 11.4.5, SAM-5 5.4.3): fewer (underflow) or more (overflow, cut off).
public enum Residual: Sendable, Equatable {
    case none
    case underflow(UInt32)
    case overflow(UInt32)

    /// The residual of a command that would move `command` bytes where `expected` were expected.
    public init(expected: Int, command: Int) {
        if expected > command {
            self = .underflow(UInt32(clamping: expected - command))
        } else if expected < command {
            self = .overflow(UInt32(clamping: command - expected))
        } else {
            self = .none
        }
    }
}

/// How a command ended, in the terms a transport sends: the status, the Data-In to return
/// (never longer than the expected transfer length), the sense data of a CHECK CONDITION
/// (already in the LU's chosen format) and the residual.
public struct SCSICompletion: Sendable, Equatable {
    public var status: SCSIStatus
    public var dataIn: ByteBuffer?
    public var sense: [UInt8]?
    public var residual: Residual

    public init(status: SCSIStatus, dataIn: ByteBuffer? = nil, sense: [UInt8]? = nil, residual: Residual) {
        self.status = status
        self.dataIn = dataIn
        self.sense = sense
        self.residual = residual
    }

    /// GOOD without data after a command that moved (or asked to move) `commandLength` bytes.
    public static func good(commandLength: Int, expected: Int) -> SCSICompletion {
        SCSICompletion(status: .good, residual: Residual(expected: expected, command: commandLength))
    }

    /// GOOD with Data-In: `data` cut to the expected length; the residual compares the
    /// expected length with `commandLength`, what the CDB asked for.
    public static func data(_ data: ByteBuffer, commandLength: Int, expected: Int) -> SCSICompletion {
        let length = min(data.readableBytes, expected)
        let cut = length == data.readableBytes ? data : data.getSlice(at: data.readerIndex, length: length)!
        return SCSICompletion(status: .good, dataIn: length > 0 ? cut : nil,
                              residual: Residual(expected: expected, command: commandLength))
    }

    /// CHECK CONDITION with `sense`: no data moved, so all of the expected length is residual.
    public static func checkCondition(_ sense: SenseData, descriptorFormat: Bool, expected: Int) -> SCSICompletion {
        SCSICompletion(status: .checkCondition, sense: sense.bytes(descriptorFormat: descriptorFormat),
                       residual: Residual(expected: expected, command: 0))
    }

    /// RESERVATION CONFLICT: no sense, no data.
    public static func reservationConflict(expected: Int) -> SCSICompletion {
        SCSICompletion(status: .reservationConflict, residual: Residual(expected: expected, command: 0))
    }
}
