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

    /// Serializes a whole PDU into one buffer (for small control PDUs).
    public func serialize(_ header: BasicHeaderSegment, data: ByteBuffer?, into buffer: inout ByteBuffer) {
        var h = header
        h.dataSegmentLength = UInt32(data?.readableBytes ?? 0)
        writeHeader(h, into: &buffer)
        if let data, data.readableBytes > 0 {
            var copy = data
            buffer.writeBuffer(&copy)
            writeTrailer(for: data, into: &buffer)
        }
    }
}
