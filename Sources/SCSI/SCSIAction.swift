/// What the transport must do for one command. The SCSI layer decides; the transport
/// moves data and talks to storage.
///
/// Block counts may be zero (a zero TRANSFER LENGTH is not an error in SBC-4): the
/// transport then moves no data and completes with GOOD.
public enum SCSIAction: Sendable, Equatable {
    /// Response data, already truncated to the CDB's allocation length; status GOOD.
    case dataIn([UInt8])
    /// No data, status GOOD.
    case good
    /// Data-In of `blocks * blockSize` bytes read from the medium.
    case read(lba: UInt64, blocks: UInt32, fua: Bool)
    /// Data-Out of `blocks * blockSize` bytes written to the medium.
    case write(lba: UInt64, blocks: UInt32, fua: Bool)
    /// Data-Out of `blocks * blockSize` bytes: write them, make them durable, then (when
    /// `byteCheck`) compare the medium with them (MISCOMPARE with the offset on difference).
    case writeAndVerify(lba: UInt64, blocks: UInt32, byteCheck: Bool)
    /// WRITE SAME: Data-Out of one block (none when `zeros`: NDOB) written to each of
    /// `blocks` blocks from `lba`.
    case writeSame(lba: UInt64, blocks: UInt32, zeros: Bool, unmap: Bool)
    /// COMPARE AND WRITE: Data-Out of `2 * blocks` blocks (verify data, then write data).
    case compareAndWrite(lba: UInt64, blocks: UInt32, fua: Bool)
    /// UNMAP (after its parameter list) or WRITE SAME with UNMAP of zeros: deallocate the
    /// ranges (they read as zeros afterwards).
    case deallocate([BlockRange])
    /// GET LBA STATUS: the transport asks the backing store whether `lba` is mapped and how
    /// far that goes, and answers with `GetLBAStatusCommand.response`.
    case lbaStatus(lba: UInt64, allocation: Int)
    /// ORWRITE: Data-Out of `blocks` blocks ORed into the medium.
    case orWrite(lba: UInt64, blocks: UInt32, fua: Bool)
    /// `byteCheck`: Data-Out of `blocks * blockSize` bytes compared with the medium
    /// (MISCOMPARE with the offset on difference). Otherwise no data: the range has been
    /// checked and the transport completes with GOOD (optionally reading the range first).
    case verify(lba: UInt64, blocks: UInt32, byteCheck: Bool)
    /// Make the range durable; `blocks == 0` means from `lba` to the end of the medium.
    case synchronizeCache(lba: UInt64, blocks: UInt32)
    /// Status CHECK CONDITION with this sense data. Any Data-Out the initiator sends is discarded.
    case checkCondition(SenseData)
    /// First phase of a command with a parameter list (MODE SELECT, PERSISTENT RESERVE OUT):
    /// collect `length` bytes of Data-Out (at most the iSCSI expected data transfer length;
    /// residuals as for a write), then call `SCSICommandDecoder.complete(_:parameters:lu:state:context:)`
    /// with the same CDB and what arrived, under the same LU state lock, and carry out the
    /// action it returns (`.good`, `.checkCondition`, `.reservationConflict`, `.abortTasks`).
    case parameterData(length: Int)
    /// Status RESERVATION CONFLICT (18h), no sense data and no data (SAM-5 5.3.1). Any
    /// Data-Out the initiator sends is discarded.
    case reservationConflict
    /// PERSISTENT RESERVE OUT PREEMPT AND ABORT (SPC-4 5.12.11.4.4): abort every task of this
    /// LU that arrived on one of these I_T nexuses (as ABORT TASK SET would, with no response
    /// for the aborted tasks: TAS=0), then complete this command with status GOOD. The command
    /// itself never comes from a listed nexus.
    case abortTasks(of: [NexusIdentity])
    /// EXTENDED COPY (only from its second phase): resolve the copy targets among the target's
    /// LUs, copy each segment in order, report the outcome to the LU
    /// (`LogicalUnitState.finishCopy`) and answer GOOD or COPY ABORTED.
    case extendedCopy(ExtendedCopyRequest)
    /// SANITIZE: the LU state already says "running"; carry out `plan` detached from the
    /// command, reporting progress and the end to the LU (`sanitizeProgressed`,
    /// `sanitizeFinished`). With `immediate` the status is GOOD at once, else after the end.
    case sanitize(SanitizePlan, immediate: Bool)
}

/// Direction of a command's data transfer.
public enum DataDirection: Sendable, Equatable {
    case none
    case dataIn
    case dataOut
}

extension SCSIAction {
    /// Direction of the data the command itself transfers.
    public var direction: DataDirection {
        switch self {
        case .dataIn, .read: return .dataIn
        case .write, .writeAndVerify, .parameterData, .compareAndWrite, .orWrite: return .dataOut
        case .writeSame(_, _, let zeros, _): return zeros ? .none : .dataOut
        case .lbaStatus: return .dataIn
        case .deallocate: return .none
        case .verify(_, _, let byteCheck): return byteCheck ? .dataOut : .none
        case .good, .synchronizeCache, .checkCondition, .reservationConflict, .abortTasks, .extendedCopy, .sanitize: return .none
        }
    }

    /// Bytes the command itself says it will transfer, to compare with the iSCSI expected
    /// data transfer length for residuals (RFC 7143 11.4.5): READ of 8 blocks of 512 is 4096;
    /// a data-in response is its (already truncated) length; a parameter list is its
    /// PARAMETER LIST LENGTH; CHECK CONDITION is 0.
    public func transferLength(blockSize: Int) -> Int {
        switch self {
        case .dataIn(let data): return data.count
        case .read(_, let blocks, _), .write(_, let blocks, _), .writeAndVerify(_, let blocks, _),
             .orWrite(_, let blocks, _):
            return Int(blocks) * blockSize
        case .verify(_, let blocks, let byteCheck):
            return byteCheck ? Int(blocks) * blockSize : 0
        case .parameterData(let length):
            return length
        case .writeSame(_, _, let zeros, _):
            return zeros ? 0 : blockSize
        case .lbaStatus(_, let allocation):
            return allocation
        case .deallocate:
            return 0
        case .compareAndWrite(_, let blocks, _):
            return 2 * Int(blocks) * blockSize
        case .good, .synchronizeCache, .checkCondition, .reservationConflict, .abortTasks, .extendedCopy, .sanitize:
            return 0
        }
    }
}

/// A range of logical blocks.
public struct BlockRange: Sendable, Equatable {
    public var lba: UInt64
    public var blocks: UInt32

    public init(lba: UInt64, blocks: UInt32) {
        self.lba = lba
        self.blocks = blocks
    }
}
