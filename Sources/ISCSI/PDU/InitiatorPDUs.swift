/// Typed views of the fields of initiator PDUs (RFC 7143 section 11). They are computed
/// properties over `BasicHeaderSegment`, so reading them costs nothing.
extension BasicHeaderSegment {
    // MARK: common
    public var lun: UInt64 { lunOrSpecific }
    /// CmdSN of NOP-Out, SCSI Command, Task Management, Login, Text and Logout requests.
    public var cmdSN: UInt32 { word24 }
    /// ExpStatSN of the same requests and of Data-Out.
    public var expStatSN: UInt32 { word28 }
    public var targetTransferTag: UInt32 { word20 }

    // MARK: SCSI Command (0x01)
    public var readFlag: Bool { flags & 0x40 != 0 }
    public var writeFlag: Bool { flags & 0x20 != 0 }
    public var taskAttribute: UInt8 { flags & 0x07 }
    public var expectedDataTransferLength: UInt32 { word20 }
    /// The CDB as two big-endian halves: bytes 32-39 and 40-47.
    public var cdbHigh: UInt64 { UInt64(word32) << 32 | UInt64(word36) }
    public var cdbLow: UInt64 { UInt64(word40) << 32 | UInt64(word44) }

    // MARK: Data-Out (0x05)
    public var dataSN: UInt32 { word36 }
    public var bufferOffset: UInt32 { word40 }

    // MARK: Task Management (0x02)
    public var taskFunction: UInt8 { flags & 0x7f }
    public var referencedTaskTag: UInt32 { word20 }
    public var refCmdSN: UInt32 { word32 }

    // MARK: Login (0x03)
    public var transit: Bool { flags & 0x80 != 0 }
    public var continueFlag: Bool { flags & 0x40 != 0 }
    public var currentStage: UInt8 { (flags >> 2) & 0x03 }
    public var nextStage: UInt8 { flags & 0x03 }
    public var versionMax: UInt8 { byte2 }
    public var versionMin: UInt8 { byte3 }
    /// 6-byte ISID in the high 48 bits of bytes 8-15.
    public var isid: UInt64 { lunOrSpecific >> 16 }
    public var tsih: UInt16 { UInt16(truncatingIfNeeded: lunOrSpecific) }
    public var connectionID: UInt16 { UInt16(truncatingIfNeeded: word20 >> 16) }

    // MARK: Logout (0x06)
    public var logoutReason: UInt8 { flags & 0x7f }
}

/// Task management function codes (RFC 7143 section 11.5.1).
public enum TaskManagementFunction: UInt8, Sendable {
    case abortTask = 1
    case abortTaskSet = 2
    case clearACA = 3
    case clearTaskSet = 4
    case logicalUnitReset = 5
    case targetWarmReset = 6
    case targetColdReset = 7
    case taskReassign = 8
}

/// Task management responses (RFC 7143 section 11.6.1).
public enum TaskManagementResponse: UInt8, Sendable {
    case functionComplete = 0
    case taskDoesNotExist = 1
    case lunDoesNotExist = 2
    case taskStillAllegiant = 3
    case taskAllegianceReassignmentNotSupported = 4
    case functionNotSupported = 5
    case functionAuthorizationFailed = 6
    case functionRejected = 255
}
