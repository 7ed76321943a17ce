import CLibaio
import Glibc
import NIOCore
import NIOPosix

/// One request for an AIO context. The memory its pointers name must stay valid until
/// `completion` runs: the completion closure is what keeps it alive.
struct AIOOperation {
    enum Kind {
        case read(UnsafeMutableRawPointer, Int)
        case write(UnsafeRawPointer, Int)
        case writev(UnsafePointer<iovec>, Int32)
    }

    var fd: Int32
    var kind: Kind
    var offset: UInt64
    /// RWF_* flags for the iocb (TARGE_RWF_DSYNC for FUA).
    var rwFlags: Int32 = 0
    /// Bytes transferred, or a negative errno. Runs on the context's event loop.
    var completion: (Int) -> Void
}

/// Linux AIO for one event loop: an io_context with a bounded queue depth and an eventfd
/// that the kernel signals on every completion. The eventfd is a NIO pipe channel on the
/// loop, so completions are reaped (io_getevents with no wait) when the loop sees it
/// readable, and every callback runs on the loop: no thread, lock or wake-up beyond the
/// loop's own epoll.
///
/// Submissions are batched: a request is prepared in a free iocb slot and staged, and the
/// staged iocbs go to the kernel in one io_submit, at the end of the current drain of
/// completions (a completion that starts the next request, the common case under load) or
/// in a task queued on the loop (requests arriving from the network in one loop iteration).
///
/// Everything here runs on `loop` (hence `@unchecked Sendable`). Requests beyond the queue
/// depth wait in `backlog` and are staged as completions free slots; iocbs that io_submit
/// refuses with EAGAIN stay staged and go again after the next completion.
final class AIOContext: @unchecked Sendable {
    let loop: EventLoop
    let depth: Int
    private var context: io_context_t?
    private let eventFD: Int32
    private var channel: Channel?
    private enum State { case starting, running, closed }
    private var state = State.starting
    /// What requests fail with once closed (ECANCELED, or why the context could not start).
    private var closedErrno = ECANCELED
    /// One iocb per slot; a completion event names its iocb, whose index finds the callback.
    private let iocbs: UnsafeMutablePointer<iocb>
    private var callbacks: [((Int) -> Void)?]
    private var freeSlots: [Int]
    /// Prepared slots waiting for io_submit, in order.
    private var staged: [Int] = []
    private let submitList: UnsafeMutablePointer<UnsafeMutablePointer<iocb>?>
    private let events: UnsafeMutablePointer<io_event>
    private var backlog = CircularBuffer<AIOOperation>()
    private var flushScheduled = false
    private var draining = false
    private var retryScheduled = false
    private weak var engine: AIOEngine?

    /// Requests the kernel has and has not completed yet.
    var inKernel: Int { depth - freeSlots.count - staged.count }

    /// Creates the kernel context and the eventfd; `start` registers the eventfd with the loop.
    init(loop: EventLoop, depth: Int, engine: AIOEngine) throws(StorageError) {
        self.loop = loop
        self.depth = depth
        self.engine = engine
        var context: io_context_t? = nil
        let rc = io_setup(Int32(depth), &context)
        guard rc == 0 else {
            throw .io(device: "aio", operation: "io_setup (fs.aio-max-nr reached?)", offset: 0, length: depth, errno: -rc)
        }
        let fd = targe_aio_eventfd()
        guard fd >= 0 else {
            let e = errno
            io_destroy(context)
            throw .io(device: "aio", operation: "eventfd", offset: 0, length: 0, errno: e)
        }
        self.context = context
        self.eventFD = fd
        iocbs = .allocate(capacity: depth)
        iocbs.initialize(repeating: iocb(), count: depth)
        events = .allocate(capacity: depth)
        events.initialize(repeating: io_event(), count: depth)
        submitList = .allocate(capacity: depth)
        submitList.initialize(repeating: nil, count: depth)
        staged.reserveCapacity(depth)
        callbacks = Array(repeating: nil, count: depth)
        freeSlots = Array((0..<depth).reversed())
    }

    deinit {
        if let context { io_destroy(context) }
        iocbs.deallocate()
        events.deallocate()
        submitList.deallocate()
    }

    /// Adopts the eventfd as a pipe channel on the loop. Requests wait in the backlog until
    /// the channel is registered (so every completion has a reader); if that fails, they fail.
    func start() {
        loop.preconditionInEventLoop()
        guard let bootstrap = NIOPipeBootstrap(validatingGroup: loop) else {
            Glibc.close(eventFD)
            fail(errno: EOPNOTSUPP)  // not a NIOPosix loop
            return
        }
        let handler = AIOCompletionHandler(self)
        let fd = eventFD
        bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .takingOwnershipOfDescriptor(input: fd)
            .whenComplete { result in
                switch result {
                case let .success(channel):
                    guard self.state == .starting else {
                        channel.close(promise: nil)  // closed while starting
                        return
                    }
                    self.channel = channel
                    self.state = .running
                    self.submitBacklog()
                    self.flush()
                case .failure:
                    Glibc.close(fd)  // still ours when the bootstrap fails
                    self.fail(errno: EIO)
                }
            }
    }

    /// Queues `operation`; its completion runs on the loop (inline for immediate failures).
    func submit(_ operation: AIOOperation) {
        loop.preconditionInEventLoop()
        switch state {
        case .closed:
            operation.completion(-Int(closedErrno))
        case .starting:
            backlog.append(operation)
        case .running:
            if backlog.isEmpty && !freeSlots.isEmpty {
                stage(operation)
                requestFlush()
            } else {
                backlog.append(operation)
            }
        }
    }

    /// Prepares `operation` in a free slot for the next io_submit.
    private func stage(_ operation: AIOOperation) {
        let slot = freeSlots.removeLast()
        let cb = iocbs + slot
        let offset = Int64(bitPattern: operation.offset)
        switch operation.kind {
        case let .read(pointer, length):
            targe_aio_prep_rw(cb, 0, operation.fd, pointer, length, offset, operation.rwFlags, eventFD)
        case let .write(pointer, length):
            targe_aio_prep_rw(cb, 1, operation.fd, UnsafeMutableRawPointer(mutating: pointer), length, offset, operation.rwFlags, eventFD)
        case let .writev(vector, count):
            targe_aio_prep_writev(cb, operation.fd, vector, count, offset, operation.rwFlags, eventFD)
        }
        callbacks[slot] = operation.completion
        staged.append(slot)
    }

    /// Submits the staged iocbs soon: at the end of the drain in progress, else in a task.
    private func requestFlush() {
        guard !draining, !flushScheduled else { return }
        flushScheduled = true
        loop.execute {
            self.flushScheduled = false
            self.flush()
        }
    }

    /// Hands the staged iocbs to the kernel in as few io_submit calls as it takes. An iocb
    /// the kernel refuses outright (EBADF, EINVAL...) completes with that error; on EAGAIN
    /// (out of kernel resources) the rest stay staged for the next completion.
    private func flush() {
        guard state == .running, let context, !staged.isEmpty else { return }
        var refused: [((Int) -> Void, Int)] = []
        var done = 0
        while done < staged.count {
            let count = staged.count - done
            for i in 0..<count { submitList[i] = iocbs + staged[done + i] }
            let rc = io_submit(context, count, submitList)
            if rc == -EINTR { continue }
            if rc > 0 {
                done += Int(rc)
                continue
            }
            if rc == 0 || rc == -EAGAIN { break }
            let slot = staged[done]
            done += 1
            if let callback = callbacks[slot] { refused.append((callback, Int(rc))) }
            callbacks[slot] = nil
            freeSlots.append(slot)
        }
        staged.removeFirst(done)
        if !staged.isEmpty && inKernel == 0 { scheduleRetry() }  // no completion will come to retry
        for (callback, rc) in refused { callback(rc) }
    }

    /// Stages what waits in the backlog, as far as slots allow.
    private func submitBacklog() {
        while state == .running, !freeSlots.isEmpty, let operation = backlog.popFirst() {
            stage(operation)
        }
    }

    private func scheduleRetry() {
        guard !retryScheduled else { return }
        retryScheduled = true
        loop.scheduleTask(in: .milliseconds(1)) {
            self.retryScheduled = false
            self.submitBacklog()
            self.flush()
        }
    }

    /// Reaps every completed event without waiting and runs the callbacks, then refills the
    /// queue from the backlog. Called when the eventfd is readable.
    func drain() {
        loop.preconditionInEventLoop()
        guard let context else { return }
        draining = true
        while inKernel > 0 {
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            let n = io_getevents(context, 0, depth, events, &zero)
            if n == -EINTR { continue }
            guard n > 0 else { break }
            complete(count: Int(n))
            if Int(n) < depth { break }
        }
        draining = false
        submitBacklog()
        flush()
    }

    private func complete(count: Int) {
        for i in 0..<count {
            let slot = targe_aio_event_index(events + i, iocbs)
            let result = targe_aio_event_result(events + i)
            guard let callback = callbacks[slot] else { continue }
            callbacks[slot] = nil
            freeSlots.append(slot)
            callback(result)
        }
    }

    /// The channel closed (the loop is shutting down, or the engine was shut down): waits for
    /// what is in flight (the kernel still owns those buffers), fails the backlog, and
    /// destroys the kernel context.
    func channelClosed() {
        loop.preconditionInEventLoop()
        state = .closed
        channel = nil
        // Staged iocbs never reached the kernel: they fail like the backlog.
        let unsent = staged
        staged.removeAll()
        for slot in unsent {
            let callback = callbacks[slot]
            callbacks[slot] = nil
            freeSlots.append(slot)
            callback?(-Int(ECANCELED))
        }
        if let context {
            while inKernel > 0 {
                let n = io_getevents(context, 1, depth, events, nil)
                if n == -EINTR { continue }
                guard n > 0 else { break }
                complete(count: Int(n))
            }
        }
        failBacklog(errno: ECANCELED)
        if let context { io_destroy(context) }
        context = nil
        engine?.forget(self)
    }

    private func fail(errno code: Int32) {
        state = .closed
        closedErrno = code
        failBacklog(errno: code)
        engine?.forget(self)
    }

    private func failBacklog(errno code: Int32) {
        while let operation = backlog.popFirst() { operation.completion(-Int(code)) }
    }

    /// Closes the eventfd channel, which tears the context down (on its loop).
    func close() {
        loop.preconditionInEventLoop()
        if let channel { channel.close(promise: nil) } else if state == .starting { fail(errno: ECANCELED) }
    }
}

/// Reaps completions whenever the kernel bumps the eventfd (NIO has read the counter).
private final class AIOCompletionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let context: AIOContext

    init(_ context: AIOContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.context.drain()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context.channelClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A failing read of the eventfd: reap anyway, nothing else to do.
        self.context.drain()
    }
}
