import ISCSI
import NIOCore

/// The receive side of a connection's framing: TCP bytes in, whole PDUs out. Data segments
/// leave as slices of the receive buffers (the write path copies nothing), so at the end of
/// each read batch the few bytes left over move to a fresh buffer: appending to a buffer
/// whose storage slices still share would copy all of it.
struct PDUFramer {
    /// Digests and the data segment limit in force (they change when the login completes).
    var parser = PDUParser()
    private var cumulation: ByteBuffer?
    /// A PDU with data left this batch: the leftovers must not be appended to in place.
    private var handedOutData = false

    /// Bytes that arrived.
    mutating func append(_ incoming: ByteBuffer) {
        if var buffer = cumulation, buffer.readableBytes > 0 {
            var incoming = incoming
            buffer.writeBuffer(&incoming)
            cumulation = buffer
        } else {
            cumulation = incoming
        }
    }

    /// The header of the next PDU, as soon as its 48 bytes are here (before the rest).
    var nextHeader: BasicHeaderSegment? { cumulation.flatMap { BasicHeaderSegment.peek(from: $0) } }

    /// The next whole PDU, or nil until more bytes come. After a data digest error the PDU is
    /// consumed (its boundaries were sound); after any other error nothing past it can be
    /// trusted.
    mutating func next() throws(ISCSIError) -> PDU? {
        guard var buffer = cumulation else { return nil }
        defer { cumulation = buffer }
        guard let pdu = try parser.parse(&buffer) else { return nil }
        if pdu.data.readableBytes > 0 { handedOutData = true }
        return pdu
    }

    /// Bytes received and not yet part of a PDU.
    var pendingBytes: Int { cumulation?.readableBytes ?? 0 }

    /// The read batch is over.
    mutating func endOfBatch(allocator: ByteBufferAllocator) {
        defer { handedOutData = false }
        guard let buffer = cumulation else { return }
        if buffer.readableBytes == 0 {
            cumulation = nil
        } else if handedOutData {
            var fresh = allocator.buffer(capacity: max(buffer.readableBytes, 65536))
            fresh.writeImmutableBuffer(buffer)
            cumulation = fresh
        }
    }
}
