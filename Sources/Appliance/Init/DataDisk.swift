/// The disk a first-boot config shares: the first whole virtio/SCSI/NVMe disk that holds
/// no partitions (the boot disk has its boot and config partitions, so it never qualifies).
public enum DataDisk {
    public struct Disk: Sendable, Equatable {
        public var name: String
        public var hasPartitions: Bool
        public init(name: String, hasPartitions: Bool) {
            self.name = name
            self.hasPartitions = hasPartitions
        }
    }

    public static func first(among disks: [Disk]) -> String? {
        let kinds = ["vd", "sd", "nvme", "xvd"]
        return disks
            .filter { disk in !disk.hasPartitions && kinds.contains { disk.name.hasPrefix($0) } }
            .map(\.name)
            .sorted()
            .first
    }

    /// Whole disks from /sys/block, each with whether sysfs shows partitions under it.
    public static func scan(sysBlock: String = "/sys/block") -> [Disk] {
        SystemFiles.list(sysBlock).map { name in
            let partitions = SystemFiles.list("\(sysBlock)/\(name)").contains {
                $0.hasPrefix(name) && SystemFiles.exists("\(sysBlock)/\(name)/\($0)/partition")
            }
            return Disk(name: name, hasPartitions: partitions)
        }
    }
}
