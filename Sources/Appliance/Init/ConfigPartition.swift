#if canImport(Glibc)
import Glibc
#endif
import CSystemShims

/// Finds the config partition and mounts it at /config.
///
/// The partition is found by its ext4 filesystem label (`targe-config`, read from the
/// superblock of every block device in /sys/class/block), not by its GPT partition name:
/// the label travels with the filesystem, so a config disk formatted whole, on an MBR disk,
/// or copied with dd to another disk is found the same way. The image build sets both the
/// label and the GPT name to `targe-config`.
public struct ConfigPartition: Sendable {
    /// One block device as seen in sysfs.
    public struct Candidate: Sendable, Equatable {
        public var name: String
        public var isPartition: Bool
        /// The ext label, nil when not an ext filesystem (or unreadable).
        public var label: String?
        public init(name: String, isPartition: Bool, label: String?) {
            self.name = name
            self.isPartition = isPartition
            self.label = label
        }
    }

    /// The chosen device and the other matches, if any (a second appliance disk attached as
    /// a data disk, say), so the console can warn that they were passed over.
    public struct Selection: Sendable, Equatable {
        public var device: String
        public var ignored: [String]
    }

    /// Picks the device labelled `label`: partitions before whole disks, then by name
    /// (vda2 before vdb1), so the boot disk's partition wins over a copy on a data disk
    /// attached later.
    public static func select(_ candidates: [Candidate], label: String) -> Selection? {
        let matches = candidates.filter { $0.label == label }.sorted {
            ($0.isPartition ? 0 : 1, $0.name) < ($1.isPartition ? 0 : 1, $1.name)
        }
        guard let first = matches.first else { return nil }
        return Selection(device: first.name, ignored: matches.dropFirst().map(\.name))
    }

    /// Every block device the kernel knows, with its ext label.
    public static func scan(sysBlock: String = "/sys/class/block", devices: String = "/dev") -> [Candidate] {
        SystemFiles.list(sysBlock).compactMap { name in
            // Loop and RAM disks never hold the config; reading them costs time.
            if name.hasPrefix("loop") || name.hasPrefix("ram") { return nil }
            let isPartition = SystemFiles.exists("\(sysBlock)/\(name)/partition")
            let start = try? SystemFiles.read("\(devices)/\(name)", offset: 0, count: Ext4Label.bytesNeeded)
            return Candidate(name: name, isPartition: isPartition, label: start.flatMap(Ext4Label.label(fromDeviceStart:)))
        }
    }

    /// Mounts /dev/`device` (ext4) at `mountPoint`: no device nodes, no set-uid, no
    /// execution; only the config and the mirrors' state files live there.
    public static func mount(device: String, at mountPoint: String) throws(InitError) {
        try SystemFiles.makeDirectory(mountPoint)
        let flags = targe_ms_nodev() | targe_ms_nosuid() | targe_ms_noexec() | targe_ms_noatime()
        if targe_mount("/dev/\(device)", mountPoint, "ext4", flags, "") != 0 {
            throw InitError("mount /dev/\(device) (ext4) at \(mountPoint)", errno: errno)
        }
    }
}
