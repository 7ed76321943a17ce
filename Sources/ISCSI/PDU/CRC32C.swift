import CCRC32C
import NIOCore

/// CRC32C as iSCSI uses it for header and data digests (RFC 7143 section 13.1, RFC 3385).
/// The digest is sent in little-endian byte order on the wire (the RFC's "bit and byte
/// ordering" of the CRC register), which is why callers write it with `.little`.
public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        return targe_crc32c_update(0xffff_ffff, base, bytes.count) ^ 0xffff_ffff
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Digest of `length` bytes at `index` plus `padding` zero bytes (data digests cover the pad).
    public static func checksum(_ buffer: ByteBuffer, at index: Int, length: Int, padding: Int = 0) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        buffer.withUnsafeReadableBytes { raw in
            let start = index - buffer.readerIndex
            if length > 0, let base = raw.baseAddress {
                crc = targe_crc32c_update(crc, base + start, length)
            }
        }
        if padding > 0 {
            var zeros: UInt32 = 0
            crc = withUnsafeBytes(of: &zeros) { targe_crc32c_update(crc, $0.baseAddress!, padding) }
        }
        return crc ^ 0xffff_ffff
    }
}
