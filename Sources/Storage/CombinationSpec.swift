/// What the config says about one combination, in Storage's own terms (the ISCSITarget module
/// maps `CombinationConfig` onto this, so Storage does not depend on Config).
public struct CombinationSpec: Sendable, Equatable {
    public enum Level: Sendable, Equatable {
        /// Concatenation, or striping when `chunk` is set.
        case raid0
        /// Mirror.
        case raid1
    }

    public var name: String
    public var level: Level
    /// Device or combination names in layout order (the order fixes the LBA layout).
    public var members: [String]
    /// RAID0 stripe size in bytes; nil = concatenation. Ignored for RAID1.
    public var chunk: UInt64?

    public init(name: String, level: Level, members: [String], chunk: UInt64? = nil) {
        self.name = name
        self.level = level
        self.members = members
        self.chunk = chunk
    }
}
