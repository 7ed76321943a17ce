import CRBD
#if canImport(Glibc)
import Glibc
#endif

/// An open RBD image and its cluster connection: the blocking half (connect, open, close),
/// done off the event loops. `RBDDevice` does the I/O.
final class RBDImage: @unchecked Sendable {
    let spec: RBDImageSpec
    let cluster: UnsafeMutableRawPointer
    let ioctx: UnsafeMutableRawPointer
    let handle: UnsafeMutableRawPointer

    /// Connects and opens. Blocks for up to `timeoutSeconds` when the cluster does not answer.
    init(_ spec: RBDImageSpec, device: String, timeoutSeconds: Int) throws(StorageError) {
        var message = [CChar](repeating: 0, count: 512)
        guard targe_rbd_load(&message, message.count) == 0 else {
            throw .unavailable(device: device, reason: "librbd: " + Self.text(message))
        }
        self.spec = spec
        var cluster: UnsafeMutableRawPointer?
        var r = targe_rbd_connect(spec.cephConf, spec.cephID, Int32(timeoutSeconds), &cluster)
        guard r == 0, let cluster else {
            throw .unavailable(device: device, reason: "cannot reach the Ceph cluster of \(spec.cephConf) as client.\(spec.cephID): "
                                + Self.describe(r))
        }
        var ioctx: UnsafeMutableRawPointer?
        var handle: UnsafeMutableRawPointer?
        r = targe_rbd_open(cluster, spec.pool, spec.namespace, spec.image, &ioctx, &handle)
        guard r == 0, let ioctx, let handle else {
            targe_rbd_shutdown(cluster)
            throw .unavailable(device: device, reason: "cannot open RBD image \(spec.path): " + Self.describe(r))
        }
        self.cluster = cluster
        self.ioctx = ioctx
        self.handle = handle
    }

    /// The image's size now (it may be resized in the cluster).
    func size() throws(StorageError) -> UInt64 {
        var size: UInt64 = 0
        let r = targe_rbd_size(handle, &size)
        guard r == 0 else { throw .io(device: spec.path, operation: "get size", offset: 0, length: 0, errno: -r) }
        return size
    }

    /// Closes the image (librbd waits for its requests and flushes its cache) and the connection.
    func close() {
        targe_rbd_close(ioctx, handle)
        targe_rbd_shutdown(cluster)
    }

    /// A NUL-terminated C string in a buffer, as text.
    static func text(_ bytes: [CChar]) -> String {
        String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func describe(_ r: Int32) -> String {
        let code = r < 0 ? -r : r
        return "\(String(cString: strerror(code))) (errno \(code))"
    }
}

extension RBDImage: RBDLockClient {
    func isLockOwner() -> Result<Bool, RBDErrno> {
        let r = targe_rbd_is_lock_owner(handle)
        return r < 0 ? .failure(RBDErrno(code: r)) : .success(r == 1)
    }

    func acquireLock() -> Int32 { targe_rbd_lock_acquire(handle) }

    func releaseLock() -> Int32 { targe_rbd_lock_release(handle) }

    func lockOwner() -> Result<String?, RBDErrno> {
        var owner = [CChar](repeating: 0, count: 256)
        let r = targe_rbd_lock_owner(handle, &owner, owner.count)
        if r == -ENOENT { return .success(nil) }
        return r < 0 ? .failure(RBDErrno(code: r)) : .success(Self.text(owner))
    }

    func breakLock(owner: String) -> Int32 { targe_rbd_lock_break(handle, owner) }

    func isWatching(_ address: String) -> Result<Bool, RBDErrno> {
        let r = targe_rbd_is_watching(handle, address)
        return r < 0 ? .failure(RBDErrno(code: r)) : .success(r == 1)
    }

    func metadata(_ key: String) -> String? {
        var value = [CChar](repeating: 0, count: 128)
        guard targe_rbd_metadata_get(handle, key, &value, value.count) == 0 else { return nil }
        let text = Self.text(value)
        return text.isEmpty ? nil : text
    }

    func setMetadata(_ key: String, _ value: String) -> Int32 { targe_rbd_metadata_set(handle, key, value) }
}
