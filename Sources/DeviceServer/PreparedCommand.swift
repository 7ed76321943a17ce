import NIOCore
import SCSI

/// What a transport must collect before a command can run.
public enum TransferPlan: Sendable, Equatable {
    /// Nothing: run it now. Data-Out the initiator sends anyway is the transport's to drop.
    case none
    /// Data-Out of `length` bytes (the smaller of the expected transfer length and what the
    /// CDB names; 0 when the initiator expects to send nothing). The transport solicits what
    /// the initiator does not send unsolicited and runs the command once all of it is here.
    case dataOut(length: Int)
}

/// The transport side of a running command, as the device server sees it.
public protocol TaskHandle: AnyObject {
    /// The command was aborted (ABORT TASK and its kin): a long operation stops at its next
    /// step; whatever it completes with is dropped.
    var isAborted: Bool { get }
}

/// What the device server asks of the transport a command came through.
public protocol TaskSetServices: AnyObject {
    /// The LUs an EXTENDED COPY arriving through this I_T nexus may reach (its target's).
    var copyReachableUnits: [LogicalUnit] { get }
    /// PERSISTENT RESERVE OUT PREEMPT AND ABORT: end every task of `unit` that arrived on one
    /// of `nexuses`, wherever it runs, without a response (TAS=0); done when the future is.
    func abortTasks(of nexuses: [NexusIdentity], on unit: LogicalUnit) -> EventLoopFuture<Void>
}

/// A decoded command, bound to its LU (nil: no LU behind its LUN), waiting for its data.
public struct PreparedCommand: Sendable {
    public let unit: LogicalUnit?
    let cdb: CDB
    let context: CommandContext
    let action: SCSIAction
    public let transfer: TransferPlan

    init(unit: LogicalUnit?, cdb: CDB, context: CommandContext, action: SCSIAction) {
        self.unit = unit
        self.cdb = cdb
        self.context = context
        self.action = action
        let expected = Int(context.expectedDataTransferLength)
        switch action {
        case .writeSame(_, _, true, _):
            // WRITE SAME with NDOB: no data to wait for.
            self.transfer = .none
        case .write, .writeAndVerify, .verify(_, _, true), .parameterData, .writeSame, .compareAndWrite, .orWrite:
            self.transfer = .dataOut(length: min(action.transferLength(blockSize: unit?.blockSize ?? 512), expected))
        default:
            self.transfer = .none
        }
    }

    /// A command addressed to a LUN with no LU behind it for this I_T nexus: INQUIRY,
    /// REPORT LUNS and REQUEST SENSE answer; everything else gets LOGICAL UNIT NOT SUPPORTED.
    public static func forMissingLUN(_ cdb: CDB, context: CommandContext) -> PreparedCommand {
        PreparedCommand(unit: nil, cdb: cdb, context: context,
                        action: SCSICommandDecoder.decodeForMissingLUN(cdb, context: context))
    }

    /// The Expected Data Transfer Length the initiator gave.
    var expected: Int { Int(context.expectedDataTransferLength) }

    /// CHECK CONDITION with `sense`, in the LU's sense format.
    func failed(_ sense: SenseData) -> SCSICompletion {
        .checkCondition(sense, descriptorFormat: unit?.descriptorSense ?? false, expected: expected)
    }
}

extension SCSICompletion {
    /// A command that cannot run because its Data-Out sequence broke (a lost or reordered
    /// PDU): ABORTED COMMAND, DATA PHASE ERROR (4B/00), in the format of `unit`'s sense.
    public static func dataPhaseError(for unit: LogicalUnit?, expected: Int) -> SCSICompletion {
        .checkCondition(SenseData(key: .abortedCommand, asc: 0x4b, ascq: 0x00),
                        descriptorFormat: unit?.descriptorSense ?? false, expected: expected)
    }
}
