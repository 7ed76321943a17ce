import ISCSI
import NIOCore

/// The receive side of a connection's framing: TCP bytes in, whole PDUs out. Data segments
/// leave as slices of the receive buffers (the write path copies nothing), so:
/// - a PDU that a read cut in two is completed by copying only the bytes it still misses;
///   the rest of that read stays where the kernel put it (`queued`) and is parsed in place;
/// - at the end of each read the few bytes left over move to a fresh buffer sized for their
///   PDU: appending to a buffer whose storage slices still share would copy all of it.
struct PDUFramer {
    /// Digests and the data segment limit in force (they change when the login completes).
    var parser = PDUParser()
    /// The bytes being parsed: the front of the stream.
    private var cumulation: ByteBuffer?
    /// The rest of the last read, after the bytes that completed `cumulation`'s PDU.
    private var queued: ByteBuffer?
    /// A PDU with data left this batch: the leftovers must not be appended to in place.
    private var handedOutData = false

    /// Bytes that arrived. Called once per read, after the previous read's PDUs were taken.
    mutating func append(_ incoming: ByteBuffer) {
        guard var buffer = cumulation, buffer.readableBytes > 0 else {
            cumulation = incoming
            return
        }
        var incoming = incoming
        // First the rest of the header, then (its length now known) the rest of the PDU.
        while incoming.readableBytes > 0 {
            let missing: Int
            if let total = parser.wireLength(ofPDUIn: buffer) {
                missing = total - buffer.readableBytes
            } else if buffer.readableBytes < BasicHeaderSegment.size {
                missing = BasicHeaderSegment.size - buffer.readableBytes
            } else {
                // A header `parse` will refuse: hand over everything, it fails there.
                missing = incoming.readableBytes
            }
            guard missing > 0 else { break }
            var piece = incoming.readSlice(length: min(missing, incoming.readableBytes))!
            buffer.writeBuffer(&piece)
        }
        cumulation = buffer
        if incoming.readableBytes > 0 { queued = incoming }
    }

    /// The header of the next PDU, as soon as its 48 bytes are here (before the rest).
    var nextHeader: BasicHeaderSegment? {
        if let buffer = cumulation, buffer.readableBytes > 0 { return BasicHeaderSegment.peek(from: buffer) }
        return queued.flatMap { BasicHeaderSegment.peek(from: $0) }
    }

    /// The next whole PDU, or nil until more bytes come. After a data digest error the PDU is
    /// consumed (its boundaries were sound); after any other error nothing past it can be
    /// trusted.
    mutating func next() throws(ISCSIError) -> PDU? {
        takeQueuedWhenParsed()
        guard var buffer = cumulation else { return nil }
        defer { cumulation = buffer }
        guard let pdu = try parser.parse(&buffer) else { return nil }
        if pdu.data.readableBytes > 0 { handedOutData = true }
        return pdu
    }

    /// Once the front buffer is used up, the rest of the read becomes the front.
    private mutating func takeQueuedWhenParsed() {
        if cumulation?.readableBytes ?? 0 == 0, let rest = queued {
            cumulation = rest
            queued = nil
        }
    }

    /// The storage the pending bytes keep alive (for tests and accounting).
    var pendingStorage: Int { cumulation?.storageCapacity ?? 0 }

    /// Bytes received and not yet part of a PDU.
    var pendingBytes: Int { (cumulation?.readableBytes ?? 0) + (queued?.readableBytes ?? 0) }

    /// The read batch is over: every whole PDU was taken, what is left is the start of one.
    mutating func endOfBatch(allocator: ByteBufferAllocator) {
        defer { handedOutData = false }
        takeQueuedWhenParsed()
        if var rest = queued {
            // Left unparsed (the connection is closing): keep the stream in one piece.
            queued = nil
            cumulation!.writeBuffer(&rest)
        }
        guard let buffer = cumulation else { return }
        if buffer.readableBytes == 0 {
            cumulation = nil
        } else if handedOutData || buffer.readableBytes * 16 < buffer.storageCapacity {
            // Also when a few bytes would keep a whole receive buffer alive: a connection that
            // sent half a header then goes quiet costs its bytes, not 64 KiB.
            // A peer still sending data gets room for its whole PDU (completing it copies each
            // byte once); a quiet one only what it sent, whatever length its header announces.
            let room = handedOutData ? parser.wireLength(ofPDUIn: buffer) ?? BasicHeaderSegment.size : 0
            var fresh = allocator.buffer(capacity: max(buffer.readableBytes, room))
            fresh.writeImmutableBuffer(buffer)
            cumulation = fresh
        }
    }
}
