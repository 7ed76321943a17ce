import CLibaio
import CSystemShims
import Glibc

/// Opening devices for the aio engine.
///
/// A file system that refuses O_DIRECT is an error that says so (no silent fallback to the
/// buffered engine: the engine decides the durability model the initiator is told about,
/// so the admin chooses it). tmpfs is refused too, although recent kernels accept O_DIRECT
/// there: its files live in the page cache anyway, so the aio engine would only add copies.
extension DeviceOpener {
    /// O_DIRECT granularity for regular files: the page size covers every file system and
    /// disk (/tmp here is ext4 on a 512/4096 disk).
    public static let fileDirectAlignment = 4096

    /// Sets O_DIRECT on an open descriptor; the errno on failure (EINVAL: not supported).
    static func setDirect(_ fd: Int32) -> Int32? {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return errno }
        guard fcntl(fd, F_SETFL, flags | targe_open_direct_flag()) == 0 else { return errno }
        return nil
    }

    static func directUnsupported(_ device: String, _ path: String) -> StorageError {
        .engineUnsupported(device: device, engine: "aio",
                           problem: "O_DIRECT is not supported on \(path) (filesystem?); use engine buffered")
    }

    /// Checks that the aio engine can serve `fd` and builds the device (which takes `fd`).
    static func openAIO(_ spec: DeviceSpec, path: String, fd: Int32, isBlockDevice: Bool, fileSize: UInt64,
                        exported: UInt64, engine: AIOEngine) throws(StorageError) -> AIOFileDevice {
        // O_DIRECT may not be set yet (`.automatic` decides after opening).
        if fcntl(fd, F_GETFL) & targe_open_direct_flag() == 0, let code = setDirect(fd) {
            if code == EINVAL { throw directUnsupported(spec.name, path) }
            throw .open(path: path, errno: code)
        }
        let alignment: Int
        let volatileCache: Bool
        if isBlockDevice {
            var logical: Int32 = 0
            alignment = targe_block_device_logical_block_size(fd, &logical) == 0 ? max(512, Int(logical)) : fileDirectAlignment
            volatileCache = blockDeviceHasVolatileCache(fd) ?? true
        } else {
            if isOnMemoryFileSystem(fd) {
                throw .engineUnsupported(device: spec.name, engine: "aio", problem:
                    "O_DIRECT is not supported on \(path): it is on a memory file system (tmpfs), where O_DIRECT is page-cache I/O in disguise; use engine buffered")
            }
            alignment = fileDirectAlignment
            volatileCache = true
        }
        // Whole aligned blocks are read and written: the last one must lie inside the file
        // (writing it would otherwise grow the file).
        let a = UInt64(alignment)
        let end = spec.offset + exported
        if (end + a - 1) / a * a > fileSize {
            throw .engineUnsupported(device: spec.name, engine: "aio", problem:
                "\(path) is \(fileSize) bytes, so the exported range ends inside a \(alignment)-byte block; O_DIRECT reads and writes whole blocks: make the file a multiple of \(alignment) bytes or use engine buffered")
        }
        return AIOFileDevice(name: spec.name, fd: fd, base: spec.offset, size: exported, alignment: alignment,
                             hasVolatileCache: volatileCache, engine: engine)
    }

    /// True for files on tmpfs or ramfs.
    static func isOnMemoryFileSystem(_ fd: Int32) -> Bool {
        let type = targe_fstatfs_type(fd)
        return type == TARGE_TMPFS_MAGIC || type == TARGE_RAMFS_MAGIC
    }

    /// What the block layer says about the device's write cache: true for "write back",
    /// false for "write through", nil when sysfs does not tell (a partition's queue is its
    /// disk's).
    static func blockDeviceHasVolatileCache(_ fd: Int32) -> Bool? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let dev = UInt64(st.st_rdev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)
        let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
        let directory = "/sys/dev/block/\(major):\(minor)"
        for candidate in [directory + "/queue/write_cache", directory + "/../queue/write_cache"] {
            guard let text = readSmallFile(candidate) else { continue }
            if text.hasPrefix("write through") { return false }
            if text.hasPrefix("write back") { return true }
        }
        return nil
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: bytes[..<n], as: UTF8.self)
    }
}
