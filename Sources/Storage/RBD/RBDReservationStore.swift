import CRBD
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// One object in the image's pool and namespace (`targe_pr.<image>`) holding the LU's
/// persistent reservations for every gateway. A change is a compare-and-swap on the object's
/// version, then a notification whose payload carries the new state, so every gateway's LU
/// has it before the PERSISTENT RESERVE OUT that made it completes. The store outlives
/// reconnects: each connection of the device attaches a new object handle.
final class RBDReservationStore: SharedReservations, @unchecked Sendable {
    private struct State {
        var handle: UnsafeMutableRawPointer?
        var handler: (@Sendable ([UInt8], UInt64) -> Void)?
        /// The newest state seen, for a handler registered after it came.
        var last: (bytes: [UInt8], version: UInt64)?
    }
    private let state = NIOLockedValueBox(State())
    /// One cluster call at a time: librados reports an ioctx's last version per ioctx.
    private let calls = NIOLock()
    private let device: String
    static let capacity = 1 << 20
    static let notifyTimeoutMilliseconds: Int32 = 5000

    init(device: String) { self.device = device }

    static func objectName(_ spec: RBDImageSpec) -> String { "targe_pr.\(spec.image)" }

    /// Opens (creating it empty if needed) and watches the object through `image`'s cluster
    /// connection, then hands the state found to the handler. Blocks.
    func attach(_ image: RBDImage) throws(StorageError) {
        var handle: UnsafeMutableRawPointer?
        let context = Unmanaged.passUnretained(self).toOpaque()
        let r = targe_rbd_state_open(image.cluster, image.spec.pool, image.spec.namespace, Self.objectName(image.spec),
                                     { context, data, length in
                                         guard let context, let data else { return }
                                         Unmanaged<RBDReservationStore>.fromOpaque(context).takeUnretainedValue()
                                             .notified(UnsafeRawBufferPointer(start: data, count: length))
                                     }, context, &handle)
        guard r == 0, let handle else {
            throw .unavailable(device: device, reason: "cannot open the reservations object: " + RBDImage.describe(r))
        }
        state.withLockedValue { $0.handle = handle }
        let (bytes, version) = try load()
        if !bytes.isEmpty { deliver(bytes, version) }
    }

    /// Stops watching (no notification arrives after this). Blocks.
    func detach() {
        calls.withLock {
            let handle: UnsafeMutableRawPointer? = state.withLockedValue { s in
                defer { s.handle = nil }
                return s.handle
            }
            if let handle { targe_rbd_state_close(handle) }
        }
    }

    /// Watches again if the watch broke (the lock keeper calls this every tick).
    func maintain() {
        calls.withLock {
            guard let handle = state.withLockedValue({ $0.handle }) else { return }
            _ = targe_rbd_state_rewatch(handle)
        }
    }

    func load() throws(StorageError) -> (bytes: [UInt8], version: UInt64) {
        // A few hundred bytes per registration: 64 KiB holds most states; a full buffer means
        // there may be more, read again with more room (up to `capacity`).
        var size = 64 << 10
        while true {
            var buffer = [UInt8](repeating: 0, count: size)
            var version: UInt64 = 0
            // The handle is taken under the lock that `detach` closes it under.
            let r: Int32? = calls.withLock {
                guard let handle = state.withLockedValue({ $0.handle }) else { return nil }
                return buffer.withUnsafeMutableBytes {
                    targe_rbd_state_read(handle, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count, &version)
                }
            }
            guard let r else { throw .unavailable(device: device, reason: "the image is not open") }
            guard r >= 0 else { throw failure("read", r) }
            if Int(r) == size && size < Self.capacity {
                size *= 2
                continue
            }
            return (Array(buffer.prefix(Int(r))), version)
        }
    }

    func publish(_ bytes: [UInt8], replacing version: UInt64) throws(StorageError) -> UInt64? {
        var next: UInt64 = 0
        // Replace and notify under the lock `detach` closes the handle under (our own watch's
        // callback, which the notification waits for, never takes it).
        let r: Int32? = calls.withLock {
            guard let handle = state.withLockedValue({ $0.handle }) else { return nil }
            let r = bytes.withUnsafeBytes {
                targe_rbd_state_replace(handle, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count, version, &next)
            }
            guard r == 0 else { return r }
            var payload: [UInt8] = []
            payload.reserveCapacity(8 + bytes.count)
            for shift in stride(from: 56, through: 0, by: -8) { payload.append(UInt8(truncatingIfNeeded: next >> UInt64(shift))) }
            payload += bytes
            // The state is kept either way; a gateway that misses the notification reads it
            // at its next PERSISTENT RESERVE OUT or reconnect.
            _ = payload.withUnsafeBytes {
                targe_rbd_state_notify(handle, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count,
                                       Self.notifyTimeoutMilliseconds)
            }
            return 0
        }
        guard let r else { throw .unavailable(device: device, reason: "the image is not open") }
        if r == -ERANGE || r == -EOVERFLOW { return nil }
        guard r == 0 else { throw failure("replace", r) }
        return next
    }

    func whenChanged(_ handler: @escaping @Sendable ([UInt8], UInt64) -> Void) {
        let last = state.withLockedValue { s in
            s.handler = handler
            return s.last
        }
        if let last { handler(last.bytes, last.version) }
    }

    /// On librados' thread: version (8 bytes) and state.
    private func notified(_ payload: UnsafeRawBufferPointer) {
        guard payload.count > 8 else { return }
        let version = payload.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        deliver(Array(payload.dropFirst(8)), version)
    }

    /// Hands a state to the LU unless a newer one was handed already.
    private func deliver(_ bytes: [UInt8], _ version: UInt64) {
        let handler: (@Sendable ([UInt8], UInt64) -> Void)? = state.withLockedValue { s in
            if let last = s.last, last.version > version { return nil }
            s.last = (bytes, version)
            return s.handler
        }
        handler?(bytes, version)
    }

    private func failure(_ operation: String, _ r: Int32) -> StorageError {
        .unavailable(device: device, reason: "reservations object \(operation): " + RBDImage.describe(r))
    }
}
