import CSystemShims
import Glibc

/// What the config says about one device, in Storage's own terms (the Target module maps
/// the Config model onto this, so Storage does not depend on Config).
public struct DeviceSpec: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case path(String)
        case ram(bytes: UInt64)
    }
    public var name: String
    public var source: Source
    public var offset: UInt64
    /// nil = to the end of the backing store.
    public var size: UInt64?
    /// Create a sparse file of `size` bytes when `path` does not exist.
    public var create: Bool
    public var blockSize: Int

    public init(name: String, source: Source, offset: UInt64 = 0, size: UInt64? = nil, create: Bool = false, blockSize: Int = 512) {
        self.name = name
        self.source = source
        self.offset = offset
        self.size = size
        self.create = create
        self.blockSize = blockSize
    }
}

/// Opens devices for the buffered engine (the aio engine arrives with block device support).
public enum DeviceOpener {
    public static func open(_ spec: DeviceSpec) throws(StorageError) -> BlockDevice {
        switch spec.source {
        case let .ram(bytes):
            guard bytes % UInt64(spec.blockSize) == 0 else {
                throw .misaligned(device: spec.name, size: bytes, blockSize: spec.blockSize)
            }
            return try RAMDevice(name: spec.name, size: bytes)
        case let .path(path):
            var fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
            if fd < 0 && errno == ENOENT && spec.create {
                guard let size = spec.size else { throw .sizeRequired(path: path) }
                fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                if fd >= 0 && ftruncate(fd, off_t(spec.offset + size)) != 0 {
                    let e = errno
                    Glibc.close(fd)
                    throw .open(path: path, errno: e)
                }
            }
            if fd < 0 {
                if errno == ENOENT && !spec.create { throw .sizeRequired(path: path) }
                throw .open(path: path, errno: errno)
            }
            let total: UInt64
            switch targe_is_block_device(fd) {
            case 1:
                var bytes: UInt64 = 0
                guard targe_block_device_size(fd, &bytes) == 0 else {
                    let e = errno
                    Glibc.close(fd)
                    throw .open(path: path, errno: e)
                }
                total = bytes
            case 0:
                var st = stat()
                guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                    Glibc.close(fd)
                    throw .notARegularFileOrBlockDevice(path: path)
                }
                total = UInt64(st.st_size)
            default:
                let e = errno
                Glibc.close(fd)
                throw .open(path: path, errno: e)
            }
            let size = spec.size ?? (total > spec.offset ? total - spec.offset : 0)
            guard spec.offset <= total, size <= total - spec.offset else {
                Glibc.close(fd)
                throw .sliceOutOfBounds(device: spec.name, offset: spec.offset, size: size, deviceSize: total)
            }
            // A whole device whose size is not a multiple of the block size exports the
            // whole blocks only; an explicit size must be aligned.
            var exported = size
            if spec.size != nil {
                guard size % UInt64(spec.blockSize) == 0 else {
                    Glibc.close(fd)
                    throw .misaligned(device: spec.name, size: size, blockSize: spec.blockSize)
                }
            } else {
                exported -= size % UInt64(spec.blockSize)
            }
            return BufferedFileDevice(name: spec.name, fd: fd, base: spec.offset, size: exported)
        }
    }
}
