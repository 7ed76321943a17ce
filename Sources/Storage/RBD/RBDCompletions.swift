import Atomics
import Dispatch
import CRBD
import CLibaio
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// One request in flight: its iovecs (kept alive with the buffers they point into) and what
/// to do with librbd's result. Its own retained pointer is the tag librbd hands back.
final class RBDRequest: @unchecked Sendable {
    let device: String
    let operation: String
    let offset: UInt64
    let length: Int
    let vector: UnsafeMutablePointer<iovec>
    let count: Int
    private let keep: [ByteBuffer]
    private let finish: (Result<Int, StorageError>) -> Void

    init(device: String, operation: String, offset: UInt64, length: Int, vector: some Collection<iovec>, keep: [ByteBuffer],
         finish: @escaping (Result<Int, StorageError>) -> Void) {
        self.device = device
        self.operation = operation
        self.offset = offset
        self.length = length
        self.count = vector.count
        self.vector = .allocate(capacity: max(1, vector.count))
        // Written straight into the request's own array: no intermediate Swift array.
        _ = UnsafeMutableBufferPointer(start: self.vector, count: vector.count).initialize(from: vector)
        self.keep = keep
        self.finish = finish
    }

    deinit { vector.deallocate() }

    /// librbd's result: bytes, or a negative errno.
    func complete(_ result: Int) {
        // A deadline passed (rados_osd_op_timeout) or the client was cut off: the cluster,
        // not the medium. The command fails with NOT READY; the session goes on.
        if result == -Int(ETIMEDOUT) || result == -Int(ESHUTDOWN) || result == -Int(ENOTCONN) {
            finish(.failure(.unavailable(device: device, reason: "\(operation) at offset \(offset): the cluster did not "
                                            + "answer (\(String(cString: strerror(Int32(-result)))))")))
            return
        }
        if result < 0 {
            finish(.failure(.io(device: device, operation: operation, offset: offset, length: length, errno: Int32(-result))))
        } else {
            finish(.success(result))
        }
    }
}

/// The image's completion eventfd, adopted by one event loop (the first that submits): that
/// loop collects finished requests whenever the eventfd is readable. Until it is registered,
/// librbd queues completions and the eventfd counts them, so nothing is lost.
final class RBDCompletions: @unchecked Sendable {
    private let image: RBDImage
    private let device: String
    private let eventFD: Int32
    /// The header watch: librbd's thread calls `headerChanged` (through `HeaderNews`) when
    /// the image changes in the cluster, whether or not a loop collects completions yet.
    private var watch: UnsafeMutableRawPointer?
    private let news: HeaderNews
    private enum State { case idle, starting, running(Channel), closed }
    private let state = NIOLockedValueBox(State.idle)
    /// Calls inside the image (requests submitted and not yet collected, a drain, an
    /// allocation walk), plus `closingBit` once `quiesce` began: nothing enters after that,
    /// and the image is closed only when what was inside has left. An atomic, not a lock:
    /// every request passes here.
    private let pending = ManagedAtomic(0)
    private static let closingBit = 1 << 40
    var inFlight: Int { pending.load(ordering: .acquiring) & ~Self.closingBit }

    /// Enters the image for one call (or one request until it is collected); false once
    /// closing.
    func enter() -> Bool {
        let value = pending.wrappingIncrementThenLoad(ordering: .acquiringAndReleasing)
        guard value & Self.closingBit == 0 else {
            pending.wrappingDecrement(ordering: .releasing)
            return false
        }
        return true
    }

    func leave(_ count: Int = 1) { pending.wrappingDecrement(by: count, ordering: .releasing) }

    /// Lets nothing new in and waits, until `deadline`, for what is inside to leave (requests
    /// come back, with errors if need be, within the cluster's deadline). True when the image
    /// may be closed.
    func quiesce(until deadline: DispatchTime) -> Bool {
        _ = pending.loadThenBitwiseOr(with: Self.closingBit, ordering: .acquiringAndReleasing)
        while inFlight > 0 {
            guard DispatchTime.now() < deadline else { return false }
            usleep(5_000)
        }
        return true
    }

    init(image: RBDImage, device: String, headerChanged: @escaping @Sendable () -> Void = {}) throws(StorageError) {
        let fd = targe_aio_eventfd()  // non-blocking, close-on-exec
        guard fd >= 0 else { throw .io(device: device, operation: "eventfd", offset: 0, length: 0, errno: errno) }
        let r = targe_rbd_notify(image.handle, fd)
        guard r == 0 else {
            Glibc.close(fd)
            throw .io(device: device, operation: "rbd_set_image_notification", offset: 0, length: 0, errno: Int32(-r))
        }
        self.image = image
        self.device = device
        self.eventFD = fd
        self.news = HeaderNews(headerChanged)
        // nil: resizes are seen at the next start only.
        self.watch = targe_rbd_watch(image.handle, { context in
            guard let context else { return }
            Unmanaged<HeaderNews>.fromOpaque(context).takeUnretainedValue().changed()
        }, Unmanaged.passUnretained(news).toOpaque())
    }

    /// Submits `request` with `call(handle, iovecs, count, tag)`; a refusal fails it at once.
    func submit(_ request: RBDRequest, on loop: EventLoop,
                _ call: (UnsafeMutableRawPointer, UnsafePointer<iovec>, Int32, UnsafeMutableRawPointer) -> Int32) {
        adopt(on: loop)
        guard enter() else {
            request.complete(-Int(ESHUTDOWN))
            return
        }
        let tag = Unmanaged.passRetained(request).toOpaque()
        let r = call(image.handle, request.vector, Int32(request.count), tag)
        if r < 0 {
            leave()
            Unmanaged<RBDRequest>.fromOpaque(tag).release()
            request.complete(Int(r))
        }
    }

    /// Registers the eventfd with `loop` the first time. After that, one atomic load: no lock
    /// on the request path (a closed queue is refused by `enter`).
    private let adopted = ManagedAtomic(false)

    private func adopt(on loop: EventLoop) {
        guard !adopted.load(ordering: .acquiring),
              adopted.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        let start: Bool = state.withLockedValue { s in
            guard case .idle = s else { return false }
            s = .starting
            return true
        }
        if start { register(on: loop) }
    }

    private func register(on loop: EventLoop) {
        let fd = eventFD
        NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RBDCompletionHandler(self))
                }
            }
            .takingOwnershipOfDescriptor(input: fd)
            .whenComplete { result in
                switch result {
                case let .success(channel):
                    let closeNow: Bool = self.state.withLockedValue { s in
                        if case .closed = s { return true }
                        s = .running(channel)
                        return false
                    }
                    if closeNow { channel.close(promise: nil) } else { self.drain() }
                case .failure:
                    Glibc.close(fd)
                }
            }
    }

    /// Collects every finished request (on the adopting loop). While closing it still runs as
    /// long as requests are outstanding (the close waits for them), never after.
    func drain() {
        let value = pending.wrappingIncrementThenLoad(ordering: .acquiringAndReleasing)
        if value & Self.closingBit != 0 && value & ~Self.closingBit == 1 {
            leave()
            return
        }
        defer { leave() }
        var tags = [UnsafeMutableRawPointer?](repeating: nil, count: 64)
        var results = [Int](repeating: 0, count: 64)
        while true {
            let n = Int(targe_rbd_poll(image.handle, &tags, &results, 64))
            guard n > 0 else { return }
            leave(n)
            for i in 0..<n {
                guard let tag = tags[i] else { continue }
                Unmanaged<RBDRequest>.fromOpaque(tag).takeRetainedValue().complete(results[i])
            }
        }
    }

    /// Stops collecting: the caller closes the image next (after `quiesce`).
    func close() {
        targe_rbd_unwatch(image.handle, watch)  // waits for a running callback
        watch = nil
        let previous: State = state.withLockedValue { s in
            defer { s = .closed }
            return s
        }
        switch previous {
        case let .running(channel): channel.close(promise: nil)
        case .idle: Glibc.close(eventFD)
        case .starting, .closed: break  // the registration closes it
        }
    }
}

/// What the header watch's callback reaches (kept alive by `RBDCompletions` until unwatched).
private final class HeaderNews: Sendable {
    let changed: @Sendable () -> Void
    init(_ changed: @escaping @Sendable () -> Void) { self.changed = changed }
}

private final class RBDCompletionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let completions: RBDCompletions

    init(_ completions: RBDCompletions) { self.completions = completions }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        completions.drain()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        completions.drain()
    }
}
