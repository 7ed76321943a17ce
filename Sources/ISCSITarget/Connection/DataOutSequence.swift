import ISCSI
import NIOCore

/// The Data-Out side of one SCSI command (RFC 7143 sections 11.7 and 11.8) as a plain value:
/// the unsolicited data (immediate, or with InitialR2T=No the first burst), the R2Ts the
/// target sends for the rest, and the checks each Data-Out must pass. The connection feeds
/// it what arrives and sends what it asks for; the data is kept as slices of the receive
/// buffers, in offset order, for the LU to write as one vector.
struct DataOutSequence {
    /// Expected Data Transfer Length from the Command PDU.
    let expectedLength: Int
    /// Bytes the initiator sends without an R2T: the immediate data, or with InitialR2T=No
    /// min(FirstBurstLength, EDTL) (RFC 7143 section 13.13).
    let unsolicitedLength: Int

    /// Bytes the LU takes (from its transfer plan); nil until the command was prepared.
    private(set) var wanted: Int?
    /// Data-Out kept so far, in offset order (at most `wanted` bytes once planned).
    private(set) var chunks: [ByteBuffer] = []
    private(set) var kept = 0
    /// Every byte that arrived, kept or dropped; Data-Out must arrive in order.
    private(set) var arrived = 0

    private var nextR2TOffset = 0
    private var nextR2TSN: UInt32 = 0
    /// TTT -> end offset of the burst and the DataSN its next Data-Out must carry.
    private var outstandingR2Ts: [UInt32: (end: Int, nextDataSN: UInt32)] = [:]
    /// DataSN of the next unsolicited Data-Out (each sequence counts from 0).
    private var unsolicitedDataSN: UInt32 = 0

    /// One R2T to send: `length` bytes from `offset`, tagged `targetTransferTag`.
    struct ReadyToTransfer: Equatable {
        var targetTransferTag: UInt32
        var r2tSN: UInt32
        var offset: Int
        var length: Int
    }

    /// What became of one Data-Out PDU.
    enum Outcome: Equatable {
        /// Kept (or counted, beyond what the LU takes).
        case accepted
        /// Not part of this command's sequence (unknown TTT, beyond its burst or the first
        /// burst, out of offset order): a protocol error the connection answers with a Reject.
        case protocolError(String)
        /// A lost, repeated or reordered Data-Out: at ErrorRecoveryLevel 0 the command cannot
        /// complete, and ends with CHECK CONDITION (nothing is written).
        case outOfSequence(dataSN: UInt32, expected: UInt32)
    }

    init(expectedLength: Int, unsolicitedLength: Int) {
        self.expectedLength = expectedLength
        self.unsolicitedLength = unsolicitedLength
    }

    /// Everything the initiator will send for this command has arrived.
    var hasAllData: Bool { arrived >= max(wanted ?? 0, unsolicitedLength) }

    /// The LU's plan: it takes `length` bytes. Data kept beyond that goes; R2Ts start where
    /// the unsolicited data ends.
    mutating func plan(_ length: Int) {
        wanted = length
        nextR2TOffset = min(unsolicitedLength, length)
        guard kept > length else { return }
        var trimmed: [ByteBuffer] = []
        var total = 0
        for c in chunks where total < length {
            let take = min(c.readableBytes, length - total)
            trimmed.append(take == c.readableBytes ? c : c.getSlice(at: c.readerIndex, length: take)!)
            total += take
        }
        chunks = trimmed
        kept = total
    }

    /// The immediate data of the Command PDU (already checked against the negotiated limits).
    mutating func receiveImmediate(_ data: ByteBuffer) {
        _ = keep(data, at: 0)
    }

    /// A Data-Out PDU for this command: `targetTransferTag` is 0xFFFFFFFF for unsolicited data.
    mutating func receive(_ data: ByteBuffer, offset: Int, dataSN: UInt32, targetTransferTag ttt: UInt32,
                          isFinal: Bool) -> Outcome {
        let end = offset + data.readableBytes
        let expectedDataSN: UInt32
        if ttt != reservedTag {
            guard let burst = outstandingR2Ts[ttt] else {
                return .protocolError("Data-Out with unknown target transfer tag 0x\(String(ttt, radix: 16))")
            }
            guard end <= burst.end else {
                return .protocolError("Data-Out beyond its R2T (ends at \(end), the burst at \(burst.end))")
            }
            expectedDataSN = burst.nextDataSN
            outstandingR2Ts[ttt]?.nextDataSN &+= 1
        } else {
            guard end <= unsolicitedLength else { return .protocolError("unsolicited Data-Out beyond FirstBurstLength") }
            expectedDataSN = unsolicitedDataSN
            unsolicitedDataSN &+= 1
        }
        guard dataSN == expectedDataSN else { return .outOfSequence(dataSN: dataSN, expected: expectedDataSN) }
        guard keep(data, at: offset) else {
            return .protocolError("Data-Out at offset \(offset) out of order (have \(arrived) bytes)")
        }
        if isFinal && ttt != reservedTag { outstandingR2Ts[ttt] = nil }
        return .accepted
    }

    /// The R2Ts for data not yet asked for, up to `maxOutstanding` bursts of at most
    /// `maxBurst` bytes each (RFC 7143 section 11.8), each tagged by `nextTag`.
    mutating func solicit(maxBurst: Int, maxOutstanding: Int, nextTag: () -> UInt32,
                          send: (ReadyToTransfer) -> Void) {
        let wanted = wanted ?? 0
        while outstandingR2Ts.count < maxOutstanding, nextR2TOffset < wanted {
            let length = min(maxBurst, wanted - nextR2TOffset)
            let r2t = ReadyToTransfer(targetTransferTag: nextTag(), r2tSN: nextR2TSN, offset: nextR2TOffset, length: length)
            outstandingR2Ts[r2t.targetTransferTag] = (nextR2TOffset + length, 0)
            nextR2TSN &+= 1
            nextR2TOffset += length
            send(r2t)
        }
    }

    /// Takes a piece at `offset`; false when it is out of place or beyond EDTL.
    private mutating func keep(_ data: ByteBuffer, at offset: Int) -> Bool {
        guard offset == arrived, offset + data.readableBytes <= expectedLength else { return false }
        arrived += data.readableBytes
        let limit = wanted ?? expectedLength
        let take = min(data.readableBytes, max(0, limit - kept))
        if take > 0 {
            var piece = take == data.readableBytes ? data : data.getSlice(at: data.readerIndex, length: take)!
            // A piece that waits for the rest of its command must not keep a receive buffer
            // many times its size alive (512 bytes pinning 64 KiB, a thousand times over).
            if arrived < max(wanted ?? expectedLength, unsolicitedLength) { piece = Self.compacted(piece) }
            chunks.append(piece)
            kept += take
        }
        return true
    }

    /// A copy of `piece` when it holds less than 1/16 of the storage it keeps alive, else
    /// `piece` itself (a large slice costs a copy only when it pins 16 times its size).
    static func compacted(_ piece: ByteBuffer) -> ByteBuffer {
        guard piece.readableBytes * 16 < piece.storageCapacity else { return piece }
        var copy = ByteBufferAllocator().buffer(capacity: piece.readableBytes)
        copy.writeImmutableBuffer(piece)
        return copy
    }
}
