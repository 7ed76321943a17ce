/// Where a RAID1 keeps what it must remember across restarts, and how it starts the first
/// time. Both files live beside the config, never on the members (a member stays a plain,
/// readable copy of the LU): the write-intent bitmap (`WriteIntentBitmap`, binary) and the
/// member health file (`MirrorHealthFile`, text). They are opened, and created when missing,
/// when the mirror is built, so the process must be allowed to create them then (before it
/// drops its privileges); afterwards they are only written through the open descriptors.
public struct MirrorHealth: Sendable, Equatable {
    /// How the members of a mirror that has no health file yet are treated.
    public enum InitialSync: Sendable, Equatable {
        /// Copy the first member onto the others in the background (`RAID1Device.resyncStale`),
        /// as for a new mirror of disks whose contents differ. The default.
        case copyFirstMember
        /// Trust that the members are already identical (new blank disks, or restored copies).
        case assumeInSync
    }

    public var healthPath: String
    public var bitmapPath: String
    /// Bytes covered by one bitmap bit. A bitmap written with another region size is converted.
    public var regionSize: UInt64
    public var initialSync: InitialSync

    public init(healthPath: String, bitmapPath: String, regionSize: UInt64 = WriteIntentBitmap.defaultRegionSize,
                initialSync: InitialSync = .copyFirstMember) {
        self.healthPath = healthPath
        self.bitmapPath = bitmapPath
        self.regionSize = regionSize
        self.initialSync = initialSync
    }

    /// `<directory>/<combination>.health` and `<directory>/<combination>.bitmap`.
    public init(directory: String, combination: String, regionSize: UInt64 = WriteIntentBitmap.defaultRegionSize,
                initialSync: InitialSync = .copyFirstMember) {
        let base = directory.hasSuffix("/") ? directory + combination : directory + "/" + combination
        self.init(healthPath: base + ".health", bitmapPath: base + ".bitmap", regionSize: regionSize, initialSync: initialSync)
    }
}
