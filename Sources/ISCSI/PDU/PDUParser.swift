import NIOCore

/// Frames iSCSI PDUs out of a TCP byte stream. It knows the digests and the data segment
/// limit negotiated for this connection (they change once the login completes) and never
/// looks at what a PDU means.
public struct PDUParser: Sendable {
    public var headerDigest: Bool
    public var dataDigest: Bool
    /// The MaxRecvDataSegmentLength we declared: a longer data segment is a protocol error.
    public var maxDataSegmentLength: Int

    public init(headerDigest: Bool = false, dataDigest: Bool = false, maxDataSegmentLength: Int = 8192) {
        self.headerDigest = headerDigest
        self.dataDigest = dataDigest
        self.maxDataSegmentLength = maxDataSegmentLength
    }

    /// How many bytes the PDU starting at the reader index takes on the wire (header, AHS,
    /// digests, padded data), once its 48-byte header is here; nil before that, and for a
    /// header announcing more data than we accept (`parse` refuses it).
    public func wireLength(ofPDUIn buffer: ByteBuffer) -> Int? {
        guard let header = BasicHeaderSegment.peek(from: buffer) else { return nil }
        let dataLength = Int(header.dataSegmentLength)
        guard dataLength <= maxDataSegmentLength else { return nil }
        let digests = (headerDigest ? 4 : 0) + ((dataDigest && dataLength > 0) ? 4 : 0)
        return BasicHeaderSegment.size + Int(header.totalAHSLength) * 4 + paddedLength(dataLength) + digests
    }

    /// Returns the next complete PDU and consumes its bytes, or nil when more bytes are needed.
    /// On error nothing is consumed; the connection cannot be trusted past a framing error.
    public func parse(_ buffer: inout ByteBuffer) throws(ISCSIError) -> PDU? {
        guard let header = BasicHeaderSegment.peek(from: buffer) else { return nil }
        let start = buffer.readerIndex
        let ahsLength = Int(header.totalAHSLength) * 4
        let headerEnd = BasicHeaderSegment.size + ahsLength
        let headerDigestLength = headerDigest ? 4 : 0
        let dataLength = Int(header.dataSegmentLength)

        // Without a header digest the lengths are all we have: refuse an oversized segment
        // from the 48 bytes alone, so garbage cannot make us wait for megabytes.
        if !headerDigest && dataLength > maxDataSegmentLength {
            throw .dataSegmentTooLong(header: header, length: dataLength, limit: maxDataSegmentLength)
        }

        // Check the header digest as soon as the header is here: lengths in a corrupt header
        // are meaningless, so we must not wait for (or trust) its data segment length.
        guard buffer.readableBytes >= headerEnd + headerDigestLength else { return nil }
        if headerDigest {
            let expected = buffer.getInteger(at: start + headerEnd, endianness: .little, as: UInt32.self)!
            let actual = CRC32C.checksum(buffer, at: start, length: headerEnd)
            guard expected == actual else {
                throw .headerDigestMismatch(expected: expected, actual: actual)
            }
        }
        if dataLength > maxDataSegmentLength {
            throw .dataSegmentTooLong(header: header, length: dataLength, limit: maxDataSegmentLength)
        }
        let dataStart = headerEnd + headerDigestLength
        let padded = paddedLength(dataLength)
        let dataDigestLength = (dataDigest && dataLength > 0) ? 4 : 0
        let total = dataStart + padded + dataDigestLength
        guard buffer.readableBytes >= total else { return nil }

        if dataDigestLength > 0 {
            let expected = buffer.getInteger(at: start + dataStart + padded, endianness: .little, as: UInt32.self)!
            let actual = CRC32C.checksum(buffer, at: start + dataStart, length: padded)
            guard expected == actual else {
                // The PDU boundary is intact (the header was good), so the caller can answer
                // with a Reject and carry on: consume the PDU.
                buffer.moveReaderIndex(forwardBy: total)
                throw .dataDigestMismatch(header: header)
            }
        }
        let ahs = ahsLength > 0 ? buffer.getSlice(at: start + BasicHeaderSegment.size, length: ahsLength) : nil
        let data = dataLength > 0 ? buffer.getSlice(at: start + dataStart, length: dataLength)! : ByteBuffer()
        buffer.moveReaderIndex(forwardBy: total)
        return PDU(header: header, additionalHeader: ahs, data: data)
    }
}
