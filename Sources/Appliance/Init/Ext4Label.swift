/// The volume label of an ext2/3/4 filesystem, read from its superblock: the superblock
/// starts 1024 bytes into the device, its magic 0xEF53 (little-endian) sits at +56 and the
/// 16-byte, NUL-padded volume name at +120. Pure, so it is tested on made-up bytes.
public enum Ext4Label {
    public static let superblockOffset = 1024
    static let magicOffset = 56
    static let labelOffset = 120
    static let labelLength = 16
    /// Bytes to read from the start of a device to find the label.
    public static let bytesNeeded = superblockOffset + labelOffset + labelLength

    /// The label, "" for an unlabelled ext filesystem, nil when the bytes hold no ext
    /// superblock at all.
    public static func label(fromDeviceStart bytes: [UInt8]) -> String? {
        guard bytes.count >= bytesNeeded else { return nil }
        let magic = superblockOffset + magicOffset
        guard bytes[magic] == 0x53, bytes[magic + 1] == 0xEF else { return nil }
        let start = superblockOffset + labelOffset
        let raw = bytes[start..<(start + labelLength)].prefix { $0 != 0 }
        return String(decoding: raw, as: UTF8.self)
    }
}
