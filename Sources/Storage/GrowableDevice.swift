import Atomics
import CSystemShims
import Glibc

/// A device whose exported size can grow while it runs: a regular file or block device that
/// an admin enlarged (or a `size` line raised), picked up by a reload. Shrinking is never
/// offered: blocks an initiator wrote would vanish under it.
public protocol GrowableDevice: BlockDevice {
    /// Bytes the backing file or block device holds from the exported range's start, now.
    func availableBytes() throws(StorageError) -> UInt64
    /// Exports `size` bytes from now on; `size` must not be smaller than today's. A regular
    /// file shorter than the new end is extended (sparse) when `extendFile` is set, else the
    /// call fails and nothing changes.
    func grow(to size: UInt64, extendFile: Bool) throws(StorageError)
}

/// The size and growth rules both file engines share: the exported size as an atomic (every
/// I/O checks its bounds against it, from any event loop), and how the backing store is
/// measured and extended.
struct GrowableExtent: Sendable {
    let fd: Int32
    let base: UInt64
    let name: String
    private let exported: ManagedAtomic<UInt64>

    init(fd: Int32, base: UInt64, size: UInt64, name: String) {
        self.fd = fd
        self.base = base
        self.name = name
        self.exported = ManagedAtomic(size)
    }

    var size: UInt64 { exported.load(ordering: .acquiring) }

    /// The bytes from `base` to the end of the file or block device.
    func availableBytes() throws(StorageError) -> UInt64 {
        switch BackingStoreSize.of(fd) {
        case let .success(store): return store.bytes > base ? store.bytes - base : 0
        case .failure(.notRegularOrBlock): throw .io(device: name, operation: "size", offset: 0, length: 0, errno: EINVAL)
        case let .failure(.call(code)): throw .io(device: name, operation: "size", offset: 0, length: 0, errno: code)
        }
    }

    func grow(to newSize: UInt64, extendFile: Bool) throws(StorageError) {
        let current = size
        guard newSize >= current else {
            throw .resize(device: name, problem: "cannot shrink from \(current) to \(newSize) bytes: blocks initiators wrote would be cut off")
        }
        guard newSize > current else { return }
        let available = try availableBytes()
        if available < newSize {
            guard extendFile, case .success((_, false)) = BackingStoreSize.of(fd) else {
                throw .resize(device: name, problem: "needs \(newSize) bytes from offset \(base) but the backing store has \(available)")
            }
            guard ftruncate(fd, off_t(base + newSize)) == 0 else {
                throw .io(device: name, operation: "ftruncate", offset: base + newSize, length: 0, errno: errno)
            }
        }
        exported.store(newSize, ordering: .releasing)
    }
}
