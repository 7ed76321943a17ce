public enum RAIDLevel: Int, Sendable {
    /// Concatenation, or striping when a chunk size is set.
    case raid0 = 0
    /// Mirror of equal-size members.
    case raid1 = 1
}

/// `[combination NAME]`: a RAID0/RAID1 of devices and other combinations.
public struct CombinationConfig: Sendable, Equatable {
    public var name: String
    public var raid: RAIDLevel
    /// Device or combination names, in layout order (the order fixes the LBA layout).
    public var members: [String]
    /// RAID0 stripe size in bytes (a power of two, at least 4 KiB); nil = concatenation.
    public var chunk: UInt64?
    /// Line of the `[combination NAME]` header.
    public var line: Int
    /// Key -> line ("raid", "members", "chunk").
    public var lines: [String: Int]

    public init(name: String, raid: RAIDLevel, members: [String], chunk: UInt64? = nil,
                line: Int = 0, lines: [String: Int] = [:]) {
        self.name = name
        self.raid = raid
        self.members = members
        self.chunk = chunk
        self.line = line
        self.lines = lines
    }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.raid == b.raid && a.members == b.members && a.chunk == b.chunk
    }
}
