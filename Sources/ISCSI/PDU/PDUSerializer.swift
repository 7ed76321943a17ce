import NIOCore

/// Turns outgoing PDUs into bytes. The data segment travels as its own ByteBuffer so that
/// read data goes from the storage buffer to the socket without a copy (NIO writes the
/// pieces with writev); only the header, padding and digests are written here.
public struct PDUSerializer: Sendable {
    public var headerDigest: Bool
    public var dataDigest: Bool

    public init(headerDigest: Bool = false, dataDigest: Bool = false) {
        self.headerDigest = headerDigest
        self.dataDigest = dataDigest
    }

    /// Writes the header (and header digest) for a PDU whose data segment is `dataLength` bytes.
    public func writeHeader(_ header: BasicHeaderSegment, into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        header.write(to: &buffer)
        if headerDigest {
            let crc = CRC32C.checksum(buffer, at: start, length: BasicHeaderSegment.size)
            buffer.writeInteger(crc, endianness: .little)
        }
    }

    /// Writes padding and the data digest that follow a data segment (`data` is the segment
    /// itself, read to compute the digest). Writes nothing when neither is needed.
    public func writeTrailer(for data: ByteBuffer, into buffer: inout ByteBuffer) {
        let length = data.readableBytes
        guard length > 0 else { return }
        let pad = paddedLength(length) - length
        if pad > 0 { buffer.writeRepeatingByte(0, count: pad) }
        if dataDigest {
            let crc = CRC32C.checksum(data, at: data.readerIndex, length: length, padding: pad)
            buffer.writeInteger(crc, endianness: .little)
        }
    }

    /// Data segments shorter than this are copied into the header's buffer (one iovec);
    /// longer ones go to the socket as their own buffer, uncopied.
    public static let inlineDataLimit = 1024

    /// A PDU as it goes on the wire: what the connection writes, in this order.
    public struct Frame {
        /// The header with its digest, and a short data segment with its padding and digest.
        public var head: ByteBuffer
        /// A long data segment, as given (a slice of a storage buffer for read data).
        public var data: ByteBuffer?
        /// Padding and data digest after `data`, when there are any.
        public var trailer: ByteBuffer?
    }

    /// Frames one PDU: `header`'s DataSegmentLength is set from `data`.
    public func frame(_ header: BasicHeaderSegment, data: ByteBuffer?, allocator: ByteBufferAllocator) -> Frame {
        var h = header
        let length = data?.readableBytes ?? 0
        h.dataSegmentLength = UInt32(length)
        let inline = length > 0 && length < Self.inlineDataLimit
        var head = allocator.buffer(capacity: BasicHeaderSegment.size + 4 + (inline ? length + 7 : 0))
        writeHeader(h, into: &head)
        guard let data, length > 0 else { return Frame(head: head) }
        if inline {
            var copy = data
            head.writeBuffer(&copy)
            writeTrailer(for: data, into: &head)
            return Frame(head: head)
        }
        guard paddedLength(length) != length || dataDigest else { return Frame(head: head, data: data) }
        var trailer = allocator.buffer(capacity: 8)
        writeTrailer(for: data, into: &trailer)
        return Frame(head: head, data: data, trailer: trailer)
    }

    /// Serializes a whole PDU into one buffer: the frame's parts back to back (tests, fuzzers,
    /// small control PDUs).
    public func serialize(_ header: BasicHeaderSegment, data: ByteBuffer?, into buffer: inout ByteBuffer) {
        var frame = frame(header, data: data, allocator: ByteBufferAllocator())
        buffer.writeBuffer(&frame.head)
        if var data = frame.data { buffer.writeBuffer(&data) }
        if var trailer = frame.trailer { buffer.writeBuffer(&trailer) }
    }
}
