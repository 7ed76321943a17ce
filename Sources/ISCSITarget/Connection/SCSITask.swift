import DeviceServer
import ISCSI
import NIOCore
import SCSI

/// One SCSI command on a connection, from its Command PDU to its status: its LU's prepared
/// command, its Data-Out sequence, and where it stands.
final class SCSITask: TaskHandle {
    let header: BasicHeaderSegment
    let unit: LogicalUnit?
    var dataOut: DataOutSequence

    /// Set when the command's turn in CmdSN order has come and its LU decoded the CDB.
    var prepared: PreparedCommand?
    /// The LU is executing it (all its data arrived, or it takes none).
    var executing = false
    /// Its Data-Out sequence broke before the command's turn came: it fails when delivered.
    var failedSequence = false
    /// Aborted by task management: whatever completes later is dropped silently.
    var aborted = false
    var isAborted: Bool { aborted }
    /// The command holds a place in the session's CmdSN window (a non-immediate command that
    /// came up in CmdSN order); answering or aborting it gives the place back.
    var holdsWindow = false
    /// Data-In bytes this command counts against the connection's `OutputBudget` while its
    /// data is being read (0 once handed to the channel, or for a command without Data-In).
    var dataInInFlight = 0
    /// The Data-In the command may return: EDTL for a read (R bit), else nothing.
    var dataInLength: Int { header.readFlag ? Int(header.expectedDataTransferLength) : 0 }
    /// Since when the command has waited for Data-Out without any arriving (nil while it
    /// waits for nothing): a command whose data stops coming is failed after a while.
    var waitingForDataSince: NIODeadline?
    /// When the Command PDU arrived: the LU's latency metrics run from here to the answer.
    let arrived = NIODeadline.now()

    init(header: BasicHeaderSegment, unit: LogicalUnit?, unsolicitedLength: Int) {
        self.header = header
        self.unit = unit
        self.dataOut = DataOutSequence(expectedLength: Int(header.expectedDataTransferLength),
                                       unsolicitedLength: unsolicitedLength)
    }

    var itt: UInt32 { header.initiatorTaskTag }
    var isImmediate: Bool { header.isImmediate }
    var cmdSN: UInt32 { header.cmdSN }
    var lunField: UInt64 { header.lun }
    /// Expected Data Transfer Length from the Command PDU.
    var expectedLength: Int { dataOut.expectedLength }
}
