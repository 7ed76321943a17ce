import CRBD
import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// A Ceph RBD image as a block device, through librbd's asynchronous C API.
///
/// Requests are submitted from whichever event loop asks (librbd's calls are thread-safe and
/// do not wait for the cluster). Completions never run on librbd's threads: the image
/// signals an eventfd, which one event loop has adopted as a pipe channel, and that loop
/// collects them (`rbd_poll_io_events`) and fulfils each request's promise (a promise of
/// another loop hops there). Each request's tag is the retained request itself, so no table
/// or lock sits between submission and completion.
///
/// librbd's write-back cache stays as the cluster configures it; `hasVolatileCache` says so,
/// and SYNCHRONIZE CACHE and FUA become `rbd_aio_flush`, which returns once the data is on
/// the OSDs.
public final class RBDDevice: BlockDevice, @unchecked Sendable {
    public let name: String
    public let spec: RBDImageSpec
    public let hasVolatileCache = true
    private let allocator = ByteBufferAllocator()
    /// Cluster operations time out after this (connect, monitor and OSD operations): a lost
    /// OSD fails its commands, never the session.
    private let timeoutSeconds: Int

    private enum Connection {
        /// Not reached yet; retried every `retryInterval`.
        case pending(reason: String)
        case ready(RBDImage, RBDCompletions)
        case closed
    }

    private struct State {
        var connection: Connection
        var size: UInt64 = 0
        var onReady: (@Sendable (UInt64) -> Void)?
        var lastLogged: String?
        /// With a gateway name: who serves the image now, and what keeps the lock.
        var role: GatewayRole = .unavailable(reason: "the image is not open yet")
        var onRole: (@Sendable (GatewayRole) -> Void)?
        var keeper: RBDLockKeeper?
    }

    private let state: NIOLockedValueBox<State>
    /// With a gateway name: the LU's persistent reservations, beside the image.
    private let reservationStore: RBDReservationStore?
    private let notice: @Sendable (String) -> Void
    static let retryInterval = 5.0

    public var size: UInt64 { state.withLockedValue { $0.size } }

    /// Connects, opens and sizes the image. Blocks (up to `timeoutSeconds`); call it off the
    /// event loops. When the cluster or the image cannot be reached, the device starts
    /// pending: I/O fails as unavailable (NOT READY) while a retry runs every few seconds,
    /// and `notice` hears why (again when the reason changes).
    public init(name: String, spec: RBDImageSpec, timeoutSeconds: Int = 30,
                notice: @escaping @Sendable (String) -> Void = { _ in }) {
        self.name = name
        self.spec = spec
        self.timeoutSeconds = timeoutSeconds
        self.notice = notice
        state = NIOLockedValueBox(State(connection: .pending(reason: "not connected yet")))
        reservationStore = spec.gateway == nil ? nil : RBDReservationStore(device: name)
        if !connect() { scheduleRetry() }
    }

    /// One attempt; true when the image is open.
    private func connect() -> Bool {
        do {
            let image = try RBDImage(spec, device: name, timeoutSeconds: timeoutSeconds)
            let size: UInt64
            let completions: RBDCompletions
            do {
                size = try image.size()
                // The reservations first: the LU has them before it serves.
                try reservationStore?.attach(image)
                completions = try RBDCompletions(image: image, device: name) { [weak self] in self?.headerChanged() }
            } catch {
                reservationStore?.detach()
                image.close()
                throw error
            }
            let (handler, closed): ((@Sendable (UInt64) -> Void)?, Bool) = state.withLockedValue { s in
                if case .closed = s.connection { return (nil, true) }
                s.connection = .ready(image, completions)
                s.size = size
                return (s.onReady, false)
            }
            if closed {
                reservationStore?.detach()
                completions.close()
                image.close()
                return true
            }
            notice("device \(name): RBD image \(spec.path) is open (\(size) bytes)")
            handler?(size)
            if let gateway = spec.gateway { keepLock(image, gateway: gateway) }
            return true
        } catch {
            let reason = "\(error)"
            let log: Bool = state.withLockedValue { s in
                guard case .pending = s.connection else { return false }
                s.connection = .pending(reason: reason)
                defer { s.lastLogged = reason }
                return s.lastLogged != reason
            }
            if log { notice("\(reason); its LU answers NOT READY and the image is tried again every \(Int(Self.retryInterval)) s") }
            return false
        }
    }

    /// A gateway serves the image only while it holds its lock (`RBDLockKeeper`).
    private func keepLock(_ image: RBDImage, gateway: String) {
        let store = reservationStore
        let keeper = RBDLockKeeper(client: image, gateway: gateway, device: name, notice: notice,
                                   maintenance: { store?.maintain() },
                                   report: { [weak self] role in self?.setRole(role) },
                                   fenced: { [weak self] in self?.reconnect(after: image) })
        let closed: Bool = state.withLockedValue { s in
            guard case .ready(let current, _) = s.connection, current === image else { return true }
            s.keeper = keeper
            return false
        }
        if !closed { keeper.start() }
    }

    private func setRole(_ role: GatewayRole) {
        let handler: (@Sendable (GatewayRole) -> Void)? = state.withLockedValue { s in
            guard s.role != role else { return nil }
            s.role = role
            return s.onRole
        }
        handler?(role)
    }

    /// Another gateway fenced this one off (blocklisted its client): the image handle is
    /// useless now. New I/O fails at once (NOT READY); once what was in flight has come back
    /// (with errors: the cluster refuses a blocklisted client), the image and its cluster
    /// connection are closed and opened again as a new client, which stands by.
    private func reconnect(after image: RBDImage) {
        let (old, keeper): (RBDCompletions?, RBDLockKeeper?) = state.withLockedValue { s in
            guard case let .ready(current, completions) = s.connection, current === image else { return (nil, nil) }
            s.connection = .pending(reason: "reconnecting after being fenced off by another gateway")
            defer { s.keeper = nil }
            return (completions, s.keeper)
        }
        guard let old else { return }
        DispatchQueue.global().async { [weak self] in
            keeper?.shutdown()  // the tick that found the fence has returned by now, or soon
            let quiet = old.quiesce(until: .now() + .seconds(30))
            guard let self else { return }
            self.reservationStore?.detach()
            if !quiet {
                // Closing under requests would strand their commands; keep the dead handle.
                self.notice("device \(self.name): \(old.inFlight) requests of the fenced client never came back; "
                            + "its image handle stays open")
            } else {
                old.close()
                image.close()
            }
            if !self.connect() { self.scheduleRetry() }
        }
    }

    private func scheduleRetry() {
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.retryInterval) { [weak self] in
            guard let self else { return }
            let pending: Bool = self.state.withLockedValue { if case .pending = $0.connection { true } else { false } }
            guard pending else { return }
            if !self.connect() { self.scheduleRetry() }
        }
    }

    /// The image changed in the cluster: its size is read again off the event loop (librbd
    /// refreshes the header over the network), and a larger one goes to the LU.
    private func headerChanged() {
        DispatchQueue.global().async { [weak self] in
            guard let self else { return }
            let before = self.size
            guard let after = try? self.refreshSize(), after != before else { return }
            if after < before {
                self.notice("device \(self.name): RBD image \(self.spec.path) shrank from \(before) to \(after) bytes in the "
                            + "cluster; its LU keeps its capacity and I/O past the end fails")
                return
            }
            self.notice("device \(self.name): RBD image \(self.spec.path) grew from \(before) to \(after) bytes")
            self.state.withLockedValue { $0.onReady }?(after)
        }
    }

    /// The open image and its completion queue, or why there is none.
    private func connection() -> Result<(RBDImage, RBDCompletions), StorageError> {
        state.withLockedValue { s in
            switch s.connection {
            case let .ready(image, completions): return .success((image, completions))
            case let .pending(reason): return .failure(.unavailable(device: name, reason: reason))
            case .closed: return .failure(.closed(device: name))
            }
        }
    }

    private func check(_ offset: UInt64, _ length: Int) -> StorageError? {
        let size = self.size
        guard offset <= size, UInt64(length) <= size - offset else {
            return .outOfRange(device: name, offset: offset, length: length, size: size)
        }
        return nil
    }

    public func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        let completions: RBDCompletions
        switch connection() {
        case let .success((_, c)): completions = c
        case let .failure(error): return eventLoop.makeFailedFuture(error)
        }
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        guard length > 0 else { return eventLoop.makeSucceededFuture(allocator.buffer(capacity: 0)) }
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        var buffer = allocator.buffer(capacity: length)
        // The storage stays put while `buffer` is neither grown nor copied: the request keeps it.
        let pointer = buffer.withUnsafeMutableWritableBytes { $0.baseAddress! }
        let request = RBDRequest(device: name, operation: "read", offset: offset, length: length,
                                 vector: CollectionOfOne(iovec(iov_base: pointer, iov_len: length)), keep: [buffer]) { result in
            switch result {
            case let .failure(error): promise.fail(error)
            case let .success(count) where count < length:
                promise.fail(StorageError.shortTransfer(device: self.name, operation: "read", offset: offset,
                                                        expected: length, transferred: count))
            case .success:
                buffer.moveWriterIndex(forwardBy: length)
                promise.succeed(buffer)
            }
        }
        completions.submit(request, on: eventLoop) { handle, vector, count, tag in
            targe_rbd_readv(handle, vector, count, offset, tag)
        }
        return promise.futureResult
    }

    public func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let length = buffers.reduce(0) { $0 + $1.readableBytes }
        let completions: RBDCompletions
        switch connection() {
        case let .success((_, c)): completions = c
        case let .failure(error): return eventLoop.makeFailedFuture(error)
        }
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        guard length > 0 else { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        // Straight from the receive buffers: one iovec per Data-Out slice, no copy.
        let vector = buffers.lazy.map { buffer in
            buffer.withUnsafeReadableBytes { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        }
        let request = RBDRequest(device: name, operation: "write", offset: offset, length: length, vector: vector,
                                 keep: buffers) { result in
            switch result {
            case let .failure(error): promise.fail(error)
            case .success: promise.succeed(())
            }
        }
        completions.submit(request, on: eventLoop) { handle, vector, count, tag in
            targe_rbd_writev(handle, vector, count, offset, tag)
        }
        guard forceUnitAccess else { return promise.futureResult }
        return promise.futureResult.flatMap { self.flush(on: eventLoop) }
    }

    public func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        simple("flush", offset: 0, length: 0, on: eventLoop) { handle, tag in targe_rbd_flush(handle, tag) }
    }

    private func simple(_ operation: String, offset: UInt64, length: Int, on eventLoop: EventLoop,
                        _ call: @escaping (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Int32) -> EventLoopFuture<Void> {
        let completions: RBDCompletions
        switch connection() {
        case let .success((_, c)): completions = c
        case let .failure(error): return eventLoop.makeFailedFuture(error)
        }
        let promise = eventLoop.makePromise(of: Void.self)
        let request = RBDRequest(device: name, operation: operation, offset: offset, length: length,
                                 vector: EmptyCollection(), keep: []) {
            result in
            switch result {
            case let .failure(error): promise.fail(error)
            case .success: promise.succeed(())
            }
        }
        completions.submit(request, on: eventLoop) { handle, _, _, tag in call(handle, tag) }
        return promise.futureResult
    }

    /// The image may have been resized in the cluster: its size as it is now. Blocks briefly.
    public func refreshSize() throws(StorageError) -> UInt64 {
        let (image, completions): (RBDImage, RBDCompletions)
        switch connection() {
        case let .success(c): (image, completions) = c
        case let .failure(error): throw error
        }
        guard completions.enter() else { throw .unavailable(device: name, reason: "reconnecting") }
        defer { completions.leave() }
        let size = try image.size()
        state.withLockedValue { $0.size = size }
        return size
    }

    public func close() {
        let (previous, keeper): (Connection, RBDLockKeeper?) = state.withLockedValue { s in
            defer { s.connection = .closed; s.keeper = nil }
            return (s.connection, s.keeper)
        }
        keeper?.shutdown()
        reservationStore?.detach()
        if case let .ready(image, completions) = previous {
            // Whatever is still inside the image (a drain, a walk) leaves first.
            if completions.quiesce(until: .now() + .seconds(timeoutSeconds)) {
                completions.close()
                image.close()
            } else {
                notice("device \(name): requests still in the image after \(timeoutSeconds) s; its handle stays open")
            }
        }
    }
}

extension RBDDevice: DeviceReadiness {
    public var isReady: Bool { state.withLockedValue { if case .ready = $0.connection { true } else { false } } }

    public func whenReady(_ handler: @escaping @Sendable (UInt64) -> Void) {
        state.withLockedValue { $0.onReady = handler }
    }
}

extension RBDDevice: Deallocating {
    public var canDeallocate: Bool { true }

    public func deallocate(offset: UInt64, length: UInt64, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if let error = check(offset, Int(clamping: length)) { return eventLoop.makeFailedFuture(error) }
        return simple("discard", offset: offset, length: Int(clamping: length), on: eventLoop) { handle, tag in
            targe_rbd_discard(handle, offset, length, tag)
        }
    }

    /// From the image's extents (GET LBA STATUS): asked off the event loop, since librbd
    /// walks the objects over the network.
    public func allocation(at offset: UInt64, length: UInt64, on eventLoop: EventLoop) -> EventLoopFuture<(mapped: Bool, length: UInt64)> {
        let (image, completions): (RBDImage, RBDCompletions)
        switch connection() {
        case let .success(c): (image, completions) = c
        case let .failure(error): return eventLoop.makeFailedFuture(error)
        }
        guard completions.enter() else { return eventLoop.makeFailedFuture(StorageError.unavailable(device: name, reason: "reconnecting")) }
        let promise = eventLoop.makePromise(of: (mapped: Bool, length: UInt64).self)
        DispatchQueue.global().async { [name] in
            defer { completions.leave() }
            var mapped: Int32 = 0
            var run: UInt64 = 0
            let r = targe_rbd_allocation(image.handle, offset, length, &mapped, &run)
            if r < 0 {
                promise.fail(StorageError.io(device: name, operation: "allocation", offset: offset, length: Int(clamping: length),
                                             errno: -r))
            } else {
                promise.succeed((mapped != 0, max(run, 1)))
            }
        }
        return promise.futureResult
    }
}

extension RBDDevice: DeviceStatusReporting {
    public var status: DeviceStatus {
        guard let gateway = spec.gateway else { return DeviceStatus(kind: "rbd") }
        return DeviceStatus(kind: "rbd, gateway \(gateway): \(role)")
    }
}

extension RBDDevice: SharedDevice {
    public var gatewayName: String { spec.gateway ?? "" }
    public var role: GatewayRole { state.withLockedValue { $0.role } }

    public func whenRoleChanges(_ handler: @escaping @Sendable (GatewayRole) -> Void) {
        state.withLockedValue { $0.onRole = handler }
    }

    public var sharedReservations: SharedReservations? { reservationStore }

    public func requestRole(active: Bool) throws(StorageError) {
        guard let keeper = state.withLockedValue({ $0.keeper }) else {
            throw .unavailable(device: name, reason: "this gateway does not have the image open")
        }
        let r = active ? keeper.takeOver() : keeper.letGo()
        guard r == 0 else {
            throw .unavailable(device: name, reason: (active ? "cannot take the image over: " : "cannot let the image go: ")
                               + RBDLockKeeper.describe(r))
        }
    }
}
