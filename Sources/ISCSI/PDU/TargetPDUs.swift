/// Builders for the headers of target PDUs (RFC 7143 section 11). Each returns a plain
/// `BasicHeaderSegment`; the caller fills in the sequence numbers it owns.
public enum TargetPDU {
    /// Sequence numbers every status-carrying target PDU reports.
    public struct Sequence: Sendable {
        public var statSN: UInt32
        public var expCmdSN: UInt32
        public var maxCmdSN: UInt32
        public init(statSN: UInt32, expCmdSN: UInt32, maxCmdSN: UInt32) {
            self.statSN = statSN
            self.expCmdSN = expCmdSN
            self.maxCmdSN = maxCmdSN
        }
    }

    public enum Residual: Sendable, Equatable {
        case none
        case underflow(UInt32)
        case overflow(UInt32)

        var flagBits: UInt8 {
            switch self {
            case .none: return 0
            case .overflow: return 0x04
            case .underflow: return 0x02
            }
        }
        var count: UInt32 {
            switch self {
            case .none: return 0
            case let .overflow(n), let .underflow(n): return n
            }
        }
    }

    public static func scsiResponse(itt: UInt32, status: UInt8, residual: Residual, seq: Sequence,
                                    expDataSN: UInt32, dataLength: Int) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: TargetOpcode.scsiResponse.rawValue, flags: 0x80 | residual.flagBits,
                           byte2: 0, byte3: status, dataSegmentLength: UInt32(dataLength),
                           initiatorTaskTag: itt, word20: 0, word24: seq.statSN, word28: seq.expCmdSN,
                           word32: seq.maxCmdSN, word36: expDataSN, word40: 0, word44: residual.count)
    }

    /// A Data-In PDU. With `status`, it carries the command's GOOD status (S bit) and
    /// residual, and `seq.statSN` is consumed; otherwise StatSN is reserved (0).
    public static func dataIn(itt: UInt32, lun: UInt64, dataSN: UInt32, offset: UInt32, length: Int,
                              final: Bool, status: UInt8?, residual: Residual, seq: Sequence) -> BasicHeaderSegment {
        var flags: UInt8 = final ? 0x80 : 0
        var statSN: UInt32 = 0
        var residualCount: UInt32 = 0
        var statusByte: UInt8 = 0
        if let status {
            flags |= 0x01 | residual.flagBits
            statSN = seq.statSN
            residualCount = residual.count
            statusByte = status
        }
        return BasicHeaderSegment(opcodeByte: TargetOpcode.dataIn.rawValue, flags: flags, byte3: statusByte,
                                  dataSegmentLength: UInt32(length), lunOrSpecific: lun, initiatorTaskTag: itt,
                                  word20: reservedTag, word24: statSN, word28: seq.expCmdSN, word32: seq.maxCmdSN,
                                  word36: dataSN, word40: offset, word44: residualCount)
    }

    public static func readyToTransfer(itt: UInt32, lun: UInt64, ttt: UInt32, r2tSN: UInt32, offset: UInt32,
                                       length: UInt32, seq: Sequence) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: TargetOpcode.readyToTransfer.rawValue, flags: 0x80, lunOrSpecific: lun,
                           initiatorTaskTag: itt, word20: ttt, word24: seq.statSN, word28: seq.expCmdSN,
                           word32: seq.maxCmdSN, word36: r2tSN, word40: offset, word44: length)
    }

    public static func nopIn(itt: UInt32, ttt: UInt32, lun: UInt64, seq: Sequence, dataLength: Int) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: TargetOpcode.nopIn.rawValue, flags: 0x80, dataSegmentLength: UInt32(dataLength),
                           lunOrSpecific: lun, initiatorTaskTag: itt, word20: ttt, word24: seq.statSN,
                           word28: seq.expCmdSN, word32: seq.maxCmdSN)
    }

    public static func taskManagementResponse(itt: UInt32, response: TaskManagementResponse, seq: Sequence) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: TargetOpcode.taskManagementResponse.rawValue, flags: 0x80,
                           byte2: response.rawValue, initiatorTaskTag: itt, word24: seq.statSN,
                           word28: seq.expCmdSN, word32: seq.maxCmdSN)
    }

    public static func textResponse(itt: UInt32, ttt: UInt32, final: Bool, continued: Bool, lun: UInt64,
                                    seq: Sequence, dataLength: Int) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: TargetOpcode.textResponse.rawValue,
                           flags: (final ? 0x80 : 0) | (continued ? 0x40 : 0), dataSegmentLength: UInt32(dataLength),
                           lunOrSpecific: lun, initiatorTaskTag: itt, word20: ttt, word24: seq.statSN,
                           word28: seq.expCmdSN, word32: seq.maxCmdSN)
    }

    public static func logoutResponse(itt: UInt32, response: UInt8, seq: Sequence,
                                      time2Wait: UInt16 = 0, time2Retain: UInt16 = 0) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: TargetOpcode.logoutResponse.rawValue, flags: 0x80, byte2: response,
                           initiatorTaskTag: itt, word24: seq.statSN, word28: seq.expCmdSN, word32: seq.maxCmdSN,
                           word40: UInt32(time2Wait) << 16 | UInt32(time2Retain))
    }

    public static func reject(reason: RejectReason, seq: Sequence, dataLength: Int = BasicHeaderSegment.size) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: TargetOpcode.reject.rawValue, flags: 0x80, byte2: reason.rawValue,
                           dataSegmentLength: UInt32(dataLength), initiatorTaskTag: reservedTag,
                           word24: seq.statSN, word28: seq.expCmdSN, word32: seq.maxCmdSN)
    }

    /// Async message; event 1 = "target requests logout", parameter3 = Time2Wait for it.
    public static func asyncMessage(event: UInt8, lun: UInt64 = 0, seq: Sequence, parameter1: UInt16 = 0,
                                    parameter2: UInt16 = 0, parameter3: UInt16 = 0) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: TargetOpcode.asyncMessage.rawValue, flags: 0x80, lunOrSpecific: lun,
                           initiatorTaskTag: reservedTag, word20: 0, word24: seq.statSN, word28: seq.expCmdSN,
                           word32: seq.maxCmdSN, word36: UInt32(event) << 24 | UInt32(parameter1),
                           word40: UInt32(parameter2) << 16 | UInt32(parameter3))
    }

    public static func loginResponse(transit: Bool, currentStage: UInt8, nextStage: UInt8, isid: UInt64, tsih: UInt16,
                                     itt: UInt32, seq: Sequence, statusClass: UInt8, statusDetail: UInt8,
                                     dataLength: Int) -> BasicHeaderSegment {
        let flags: UInt8 = (transit ? 0x80 : 0) | (currentStage & 3) << 2 | (transit ? nextStage & 3 : 0)
        return BasicHeaderSegment(opcodeByte: TargetOpcode.loginResponse.rawValue, flags: flags, byte2: 0, byte3: 0,
                                  dataSegmentLength: UInt32(dataLength), lunOrSpecific: isid << 16 | UInt64(tsih),
                                  initiatorTaskTag: itt, word24: seq.statSN, word28: seq.expCmdSN,
                                  word32: seq.maxCmdSN, word36: UInt32(statusClass) << 24 | UInt32(statusDetail) << 16)
    }
}
