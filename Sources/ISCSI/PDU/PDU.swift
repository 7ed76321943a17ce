import NIOCore

/// One received iSCSI PDU: the header, any additional header segments, and the data segment
/// (a slice of the receive buffer, without padding or digest — no copy is made).
public struct PDU: Sendable {
    public var header: BasicHeaderSegment
    public var additionalHeader: ByteBuffer?
    public var data: ByteBuffer

    public init(header: BasicHeaderSegment, additionalHeader: ByteBuffer? = nil, data: ByteBuffer = ByteBuffer()) {
        self.header = header
        self.additionalHeader = additionalHeader
        self.data = data
    }
}

/// Pads a length to the next multiple of four (RFC 7143 section 11.1: segments are
/// padded to word boundaries).
@inline(__always)
public func paddedLength(_ length: Int) -> Int { (length + 3) & ~3 }
