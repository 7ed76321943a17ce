/// What a device says about itself for `targe status`: what kind of device it is and the
/// devices it is made of, so the status page walks any tree of devices without knowing the
/// device types (a new backstore or combination describes itself here and nowhere else).
public struct DeviceStatus: Sendable {
    /// A component device, with its health when the combination tracks one (a RAID1 member).
    public struct Member: Sendable {
        public var device: BlockDevice
        public var health: MemberStatus?

        public init(device: BlockDevice, health: MemberStatus? = nil) {
            self.device = device
            self.health = health
        }
    }

    /// "aio", "buffered", "ram", "raid0 concat", "raid0 stripe 64 KiB", "raid1".
    public var kind: String
    /// The component devices in config order; empty for a device with no members.
    public var members: [Member]

    public init(kind: String, members: [Member] = []) {
        self.kind = kind
        self.members = members
    }
}

/// A device that reports its own status. Every device in Storage conforms; a device that
/// does not (a test's wrapper) shows as a plain "device" with no members.
public protocol DeviceStatusReporting: BlockDevice {
    var status: DeviceStatus { get }
}

extension BlockDevice {
    /// The device's own status, or a plain "device" when it does not report one.
    public var reportedStatus: DeviceStatus {
        (self as? DeviceStatusReporting)?.status ?? DeviceStatus(kind: "device")
    }

    /// The devices this one is made of, in config order (none for a plain device).
    public var components: [BlockDevice] {
        reportedStatus.members.map(\.device)
    }
}
