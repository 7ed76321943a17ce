#if canImport(Glibc)
import Glibc
#endif
import CSystemShims

/// The kernel filesystems PID 1 mounts before anything else, and their unmounting at
/// shutdown. The initramfs is the root filesystem, so nothing here touches a disk.
public struct KernelMounts: Sendable {
    public struct Entry: Sendable, Equatable {
        public var source: String
        public var target: String
        public var type: String
        public var flags: UInt
        public var data: String
    }

    public let entries: [Entry]

    public init() {
        let nosuid = targe_ms_nosuid(), nodev = targe_ms_nodev(), noexec = targe_ms_noexec()
        entries = [
            Entry(source: "proc", target: "/proc", type: "proc", flags: nosuid | nodev | noexec, data: ""),
            Entry(source: "sysfs", target: "/sys", type: "sysfs", flags: nosuid | nodev | noexec, data: ""),
            // devtmpfs: the kernel creates the nodes itself; there is no udev.
            Entry(source: "devtmpfs", target: "/dev", type: "devtmpfs", flags: nosuid, data: "mode=0755"),
            Entry(source: "tmpfs", target: "/run", type: "tmpfs", flags: nosuid | nodev, data: "mode=0755,size=16m"),
            Entry(source: "tmpfs", target: "/tmp", type: "tmpfs", flags: nosuid | nodev, data: "mode=1777,size=32m"),
        ]
    }

    /// Mounts them all in order; an already mounted target (EBUSY) counts as done, so a
    /// restarted init does not fail on its own earlier work.
    public func mountAll() throws(InitError) {
        for entry in entries {
            try SystemFiles.makeDirectory(entry.target)
            if targe_mount(entry.source, entry.target, entry.type, entry.flags, entry.data) != 0 && errno != EBUSY {
                throw InitError("mount \(entry.type) at \(entry.target)", errno: errno)
            }
        }
    }

    /// Unmounts in reverse order, lazily: PID 1 keeps /dev/console open, and nothing in
    /// these filesystems needs writing back. Failures are returned, not thrown: shutdown
    /// goes on regardless.
    public func unmountAll() -> [InitError] {
        entries.reversed().compactMap { entry in
            targe_umount(entry.target, targe_mnt_detach()) == 0 ? nil : InitError("unmount \(entry.target)", errno: errno)
        }
    }
}
