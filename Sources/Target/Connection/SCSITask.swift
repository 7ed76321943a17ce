import DeviceServer
import ISCSI
import NIOCore
import SCSI

/// One SCSI command on a connection, from its Command PDU to its status. Data-Out pieces
/// are kept as slices of the receive buffers and handed to storage as a vector: the write
/// path copies nothing.
final class SCSITask: TaskHandle {
    let header: BasicHeaderSegment
    let unit: LogicalUnit?
    /// Expected Data Transfer Length from the Command PDU.
    let expectedLength: Int
    /// Bytes the initiator sends without an R2T: the immediate data, or with InitialR2T=No
    /// min(FirstBurstLength, EDTL) (RFC 7143 section 13.13).
    let unsolicitedLength: Int

    /// Set when the command's turn in CmdSN order has come and its LU decoded the CDB.
    var prepared: PreparedCommand?
    /// Bytes the target takes from the initiator: min(EDTL, the CDB's length).
    var wanted = 0

    /// Data-Out kept so far, in offset order (at most `wanted` bytes once decoded).
    var chunks: [ByteBuffer] = []
    var kept = 0
    /// Every byte that arrived, kept or dropped; Data-Out must arrive in order.
    var arrived = 0

    // R2T bookkeeping.
    var nextR2TOffset = 0
    var nextR2TSN: UInt32 = 0
    /// TTT -> end offset of the burst and the DataSN its next Data-Out must carry.
    var outstandingR2Ts: [UInt32: (end: Int, nextDataSN: UInt32)] = [:]
    /// DataSN of the next unsolicited Data-Out (each sequence counts from 0).
    var unsolicitedDataSN: UInt32 = 0

    /// Storage I/O or data transfer for this task has started.
    var executing = false
    /// Its Data-Out sequence broke before the command's turn came: it fails when delivered.
    var failedSequence = false
    /// Aborted by task management: whatever completes later is dropped silently.
    var aborted = false
    var isAborted: Bool { aborted }
    /// The command holds a place in the session's CmdSN window (a non-immediate command that
    /// came up in CmdSN order); answering or aborting it gives the place back.
    var holdsWindow = false

    init(header: BasicHeaderSegment, unit: LogicalUnit?, unsolicitedLength: Int) {
        self.header = header
        self.unit = unit
        self.expectedLength = Int(header.expectedDataTransferLength)
        self.unsolicitedLength = unsolicitedLength
    }

    var itt: UInt32 { header.initiatorTaskTag }
    var isImmediate: Bool { header.isImmediate }
    var cmdSN: UInt32 { header.cmdSN }
    var lunField: UInt64 { header.lun }

    /// Everything the initiator will send for this command has arrived.
    var hasAllData: Bool { arrived >= max(wanted, unsolicitedLength) }

    /// Takes a piece of Data-Out at `offset`; false when it is out of place or beyond EDTL.
    func accept(_ data: ByteBuffer, at offset: Int) -> Bool {
        guard offset == arrived, offset + data.readableBytes <= expectedLength else { return false }
        arrived += data.readableBytes
        let limit = prepared == nil ? expectedLength : wanted
        let take = min(data.readableBytes, max(0, limit - kept))
        if take > 0 {
            chunks.append(take == data.readableBytes ? data : data.getSlice(at: data.readerIndex, length: take)!)
            kept += take
        }
        return true
    }

    /// Called once decoded: drops data collected beyond what the command takes.
    func trimToWanted() {
        guard kept > wanted else { return }
        var trimmed: [ByteBuffer] = []
        var total = 0
        for c in chunks where total < wanted {
            let take = min(c.readableBytes, wanted - total)
            trimmed.append(take == c.readableBytes ? c : c.getSlice(at: c.readerIndex, length: take)!)
            total += take
        }
        chunks = trimmed
        kept = total
    }
}
