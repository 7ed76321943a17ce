import CSystemShims
import Glibc

/// What the config says about one device, in Storage's own terms (the ISCSITarget module maps
/// the Config model onto this, so Storage does not depend on Config).
public struct DeviceSpec: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case path(String)
        case ram(bytes: UInt64)
        case rbd(RBDImageSpec)
    }
    public var name: String
    public var source: Source
    public var offset: UInt64
    /// nil = to the end of the backing store.
    public var size: UInt64?
    /// Create a sparse file of `size` bytes when `path` does not exist.
    public var create: Bool
    public var blockSize: Int
    /// Which I/O engine serves a `path` device (a RAM disk has its own).
    public var engine: Engine

    /// The I/O engines (SPEC section 1).
    public enum Engine: String, Sendable, Equatable {
        /// The page cache, write-back (`BufferedFileDevice`).
        case buffered
        /// Linux AIO with O_DIRECT (`AIOFileDevice`); needs the `AIOEngine` given to `DeviceOpener`.
        case aio
        /// `aio` for block devices, `buffered` for regular files: the default when the config
        /// names no engine (buffered also when the opener was given no `AIOEngine`).
        case automatic
    }

    public init(name: String, source: Source, offset: UInt64 = 0, size: UInt64? = nil, create: Bool = false, blockSize: Int = 512,
                engine: Engine = .buffered) {
        self.name = name
        self.source = source
        self.offset = offset
        self.size = size
        self.create = create
        self.blockSize = blockSize
        self.engine = engine
    }
}

/// How a device's backing file is opened: directly, or (after the process dropped its
/// privileges) by a privileged helper that passes the descriptor back.
public protocol FileOpener: Sendable {
    /// Opens `path` read-write (close-on-exec). With `createSize`, a missing path is created
    /// as a sparse regular file of that many bytes (mode 0600).
    func openReadWrite(path: String, createSize: UInt64?) -> Result<Int32, OpenFailure>
    /// The same, with O_DIRECT when `direct` (for the aio engine). EINVAL when the file
    /// system refuses O_DIRECT.
    func openReadWrite(path: String, createSize: UInt64?, direct: Bool) -> Result<Int32, OpenFailure>
}

extension FileOpener {
    /// Opens as usual, then sets O_DIRECT on the descriptor (fcntl F_SETFL changes it on an
    /// open file, with the same checks as open), so an opener that only implements the plain
    /// open (the privileged helper) serves the aio engine too.
    public func openReadWrite(path: String, createSize: UInt64?, direct: Bool) -> Result<Int32, OpenFailure> {
        let opened = openReadWrite(path: path, createSize: createSize)
        guard direct, case let .success(fd) = opened else { return opened }
        if let code = DeviceOpener.setDirect(fd) {
            Glibc.close(fd)
            return .failure(OpenFailure(code))
        }
        return opened
    }
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

/// Opens devices with the engine their spec asks for.
public enum DeviceOpener {
    /// Opens `spec`. `aioEngine` serves the devices that use the aio engine (`.aio`, and
    /// block devices under `.automatic`); without one, `.aio` is an error and `.automatic`
    /// opens everything buffered.
    public static func open(_ spec: DeviceSpec, opener: FileOpener = DirectFileOpener(),
                            aioEngine: AIOEngine? = nil,
                            notice: @escaping @Sendable (String) -> Void = { _ in }) throws(StorageError) -> BlockDevice {
        switch spec.source {
        case let .ram(bytes):
            guard bytes % UInt64(spec.blockSize) == 0 else {
                throw .misaligned(device: spec.name, size: bytes, blockSize: spec.blockSize)
            }
            return try RAMDevice(name: spec.name, size: bytes)
        case let .rbd(image):
            // librbd reads ceph.conf and the keyring itself (they must be readable by the
            // service's user); the privileged opener has no part in it.
            // An unreachable cluster or a missing image is not an error here: the device
            // starts pending and keeps trying (its LU answers NOT READY meanwhile).
            return RBDDevice(name: spec.name, spec: image, notice: notice)
        case let .path(path):
            let createSize: UInt64?
            if spec.create {
                guard let size = spec.size else { throw .sizeRequired(path: path) }
                createSize = spec.offset + size
            } else {
                createSize = nil
            }
            if spec.engine == .aio && aioEngine == nil {
                throw .engineUnsupported(device: spec.name, engine: "aio", problem: "no AIO engine was set up (DeviceOpener.open needs aioEngine)")
            }
            let fd: Int32
            switch opener.openReadWrite(path: path, createSize: createSize, direct: spec.engine == .aio) {
            case let .success(descriptor):
                fd = descriptor
            case let .failure(failure):
                if failure.code == ENOENT && !spec.create { throw .sizeRequired(path: path) }
                if failure.code == EINVAL && spec.engine == .aio { throw directUnsupported(spec.name, path) }
                throw .open(path: path, errno: failure.code)
            }
            let total: UInt64
            let isBlockDevice: Bool
            switch BackingStoreSize.of(fd) {
            case let .success(store):
                (total, isBlockDevice) = store
            case .failure(.notRegularOrBlock):
                Glibc.close(fd)
                throw .notARegularFileOrBlockDevice(path: path)
            case let .failure(.call(code)):
                Glibc.close(fd)
                throw .open(path: path, errno: code)
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
            let useAIO: Bool
            switch spec.engine {
            case .buffered: useAIO = false
            case .aio: useAIO = true
            case .automatic: useAIO = isBlockDevice && aioEngine != nil
            }
            guard useAIO, let aioEngine else {
                return BufferedFileDevice(name: spec.name, fd: fd, base: spec.offset, size: exported)
            }
            do {
                return try openAIO(spec, path: path, fd: fd, isBlockDevice: isBlockDevice, fileSize: total,
                                   exported: exported, engine: aioEngine)
            } catch {
                Glibc.close(fd)
                throw error
            }
        }
    }
}
