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

/// How a device's backing file is opened: directly, or (after the process dropped its
/// privileges) by a privileged helper that passes the descriptor back.
public protocol FileOpener: Sendable {
    /// Opens `path` read-write (close-on-exec). With `createSize`, a missing path is created
    /// as a sparse regular file of that many bytes (mode 0600).
    func openReadWrite(path: String, createSize: UInt64?) -> Result<Int32, OpenFailure>
}

/// An errno from opening a file.
public struct OpenFailure: Error, Sendable, Equatable {
    public var code: Int32
    public init(_ code: Int32) { self.code = code }
}

/// Opens with this process's own rights.
public struct DirectFileOpener: FileOpener {
    public init() {}

    public func openReadWrite(path: String, createSize: UInt64?) -> Result<Int32, OpenFailure> {
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        if fd >= 0 { return .success(fd) }
        guard errno == ENOENT, let createSize else { return .failure(OpenFailure(errno)) }
        let created = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard created >= 0 else { return .failure(OpenFailure(errno)) }
        guard ftruncate(created, off_t(createSize)) == 0 else {
            let e = errno
            Glibc.close(created)
            unlink(path)
            return .failure(OpenFailure(e))
        }
        return .success(created)
    }
}

/// Opens devices for the buffered engine (the aio engine arrives with block device support).
public enum DeviceOpener {
    public static func open(_ spec: DeviceSpec, opener: FileOpener = DirectFileOpener()) throws(StorageError) -> BlockDevice {
        switch spec.source {
        case let .ram(bytes):
            guard bytes % UInt64(spec.blockSize) == 0 else {
                throw .misaligned(device: spec.name, size: bytes, blockSize: spec.blockSize)
            }
            return try RAMDevice(name: spec.name, size: bytes)
        case let .path(path):
            let createSize: UInt64?
            if spec.create {
                guard let size = spec.size else { throw .sizeRequired(path: path) }
                createSize = spec.offset + size
            } else {
                createSize = nil
            }
            let fd: Int32
            switch opener.openReadWrite(path: path, createSize: createSize) {
            case let .success(descriptor):
                fd = descriptor
            case let .failure(failure):
                if failure.code == ENOENT && !spec.create { throw .sizeRequired(path: path) }
                throw .open(path: path, errno: failure.code)
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
