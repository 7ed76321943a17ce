import Atomics
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// Threads that run blocking file I/O for the event loops, built for many small requests.
///
/// A general thread pool pays two wake-ups per request: one to hand it over, one to hand the
/// result back. Here a submission only signals when a worker is asleep, a worker takes every
/// queued request at once, and completions for the same event loop go back in one `execute`.
/// Under load (a deep queue of 4 KiB writes) that turns two wake-ups per request into two
/// per batch, and writes that continue each other are merged into one call
/// (`WriteMerging`).
public final class IOWorkers: @unchecked Sendable {
    /// One request, answered on `loop`.
    struct Job {
        enum Kind {
            /// Runs on a worker thread and returns what to run on `loop`.
            case call(@Sendable () -> (@Sendable () -> Void))
            /// A buffered write, which `run` may merge with its neighbours.
            case write(PendingWrite)
        }
        let loop: EventLoop
        let kind: Kind

        var write: PendingWrite? {
            if case .write(let write) = kind { return write }
            return nil
        }
    }

    private var mutex = pthread_mutex_t()
    private var wakeup = pthread_cond_t()
    private var queue: [Job] = []
    private var sleepers = 0
    /// Merged calls made and the writes they carried (tests read them).
    let mergedCalls = ManagedAtomic<Int>(0)
    let mergedWrites = ManagedAtomic<Int>(0)
    /// The loop whose next task will wake a worker (see `wakeForScheduledWork`).
    private var wakeupLoop: EventLoop?
    private var stopping = false
    private var threads: [pthread_t] = []
    private let count: Int
    private let name: String
    /// The most requests one worker takes at a time (the rest stay for the other workers).
    private let batchLimit = 64

    public init(threads: Int, name: String) {
        self.count = max(1, threads)
        self.name = name
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wakeup, nil)
        queue.reserveCapacity(256)
    }

    deinit {
        pthread_cond_destroy(&wakeup)
        pthread_mutex_destroy(&mutex)
    }

    /// Threads start with the first request, not in `init`: devices are opened before the
    /// process drops its privileges, and capability sets are per thread, so every thread
    /// must be born after the drop.
    private func startLocked() {
        for _ in 0..<count {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let rc = pthread_create(&thread, nil, { raw in
                let workers = Unmanaged<IOWorkers>.fromOpaque(raw!).takeRetainedValue()
                workers.run()
                return nil
            }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(thread)
        }
    }

    public var isStopped: Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return stopping
    }

    /// Finishes the queued requests, then stops the threads.
    public func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&wakeup)
        let running = threads
        threads = []
        pthread_mutex_unlock(&mutex)
        for thread in running { pthread_join(thread, nil) }
    }

    /// Runs `body` on a worker and completes the future on `loop` with its result.
    public func submit<T: Sendable>(on loop: EventLoop, _ body: @escaping @Sendable () throws -> T) -> EventLoopFuture<T> {
        let promise = loop.makePromise(of: T.self)
        let job = Job(loop: loop, kind: .call {
            let result = Result { try body() }
            return { promise.completeWith(result) }
        })
        enqueue(job, wakeAfterLoopTask: false) { promise.fail($0) }
        return promise.futureResult
    }

    /// Writes every byte of `buffers` at `offset` of `fd` (RWF_DSYNC when `dsync`) on a
    /// worker, merged with the writes queued right after it when they continue it.
    public func submitWrite(fd: Int32, offset: UInt64, buffers: [ByteBuffer], dsync: Bool, on loop: EventLoop) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        let length = buffers.reduce(0) { $0 + $1.readableBytes }
        let write = PendingWrite(fd: fd, offset: offset, buffers: buffers, length: length, dsync: dsync, promise: promise)
        enqueue(Job(loop: loop, kind: .write(write)), wakeAfterLoopTask: true) { promise.fail($0) }
        return promise.futureResult
    }

    private func enqueue(_ job: Job, wakeAfterLoopTask: Bool, refused: (StorageError) -> Void) {
        pthread_mutex_lock(&mutex)
        if stopping {
            pthread_mutex_unlock(&mutex)
            refused(.closed(device: name))
            return
        }
        if threads.isEmpty { startLocked() }
        queue.append(job)
        var deferWakeup = false
        if sleepers > 0 {
            if wakeAfterLoopTask && job.loop.inEventLoop && (wakeupLoop == nil || wakeupLoop === job.loop) {
                // This loop's task wakes a worker; schedule that task once.
                deferWakeup = wakeupLoop == nil
                wakeupLoop = job.loop
            } else {
                // Another loop's wake-up is pending (it may be busy, or, shutting down, never
                // run the task): wake a worker now.
                pthread_cond_signal(&wakeup)
            }
        }
        pthread_mutex_unlock(&mutex)
        if deferWakeup {
            job.loop.execute { self.wakeForScheduledWork() }
        }
    }

    /// Writes submitted on an event loop wake a worker once that loop has finished what it is
    /// doing (its next task), not at the first one: the 32 writes of one socket read then
    /// reach a worker as one batch, which it merges, instead of a worker waking per write and
    /// racing the loop for each (on two cores every wake-up also takes the CPU from the loop).
    /// Measured: 4 KiB sequential writes at QD32, 200,000 in 3.6-4.3 s before, 2.85 s after.
    /// Other requests (reads) wake a worker at once: a 128 KiB read's copy is worth running
    /// while the loop goes on sending (128 KiB reads lost a third when they waited too).
    private func wakeForScheduledWork() {
        pthread_mutex_lock(&mutex)
        wakeupLoop = nil
        if !queue.isEmpty && sleepers > 0 { pthread_cond_signal(&wakeup) }
        pthread_mutex_unlock(&mutex)
    }

    /// One write by itself (worker threads only); returns what completes it on its loop.
    private func writeAlone(_ write: PendingWrite) -> @Sendable () -> Void {
        let result = Result {
            try PositionalWrite.writeFully(fd: write.fd, buffers: write.buffers, at: write.offset, dsync: write.dsync, name: name)
        }
        let promise = write.promise
        return { promise.completeWith(result) }
    }

    private func run() {
        var batch: [Job] = []
        batch.reserveCapacity(batchLimit)
        var writes: [PendingWrite] = []
        writes.reserveCapacity(batchLimit)
        var iovecs: [iovec] = []
        iovecs.reserveCapacity(WriteMerging.maxPieces)
        var storages: [Unmanaged<AnyObject>] = []
        storages.reserveCapacity(WriteMerging.maxPieces)
        while true {
            pthread_mutex_lock(&mutex)
            while queue.isEmpty && !stopping {
                sleepers += 1
                pthread_cond_wait(&wakeup, &mutex)
                sleepers -= 1
            }
            if queue.isEmpty && stopping {
                pthread_mutex_unlock(&mutex)
                return
            }
            let take = min(queue.count, batchLimit)
            batch.append(contentsOf: queue[..<take])
            queue.removeFirst(take)
            // More left than this worker takes: let a sleeping one help.
            if !queue.isEmpty && sleepers > 0 { pthread_cond_signal(&wakeup) }
            pthread_mutex_unlock(&mutex)

            // Run, then hand completions back grouped by event loop, in submission order.
            var groups: [(loop: EventLoop, completions: [@Sendable () -> Void])] = []
            func hand(_ completion: @escaping @Sendable () -> Void, to loop: EventLoop) {
                if let i = groups.firstIndex(where: { $0.loop === loop }) {
                    groups[i].completions.append(completion)
                } else {
                    groups.append((loop, [completion]))
                }
            }
            var runs = WriteMerging.runs(batch.map { $0.write?.shape })[...]
            var index = 0
            while index < batch.count {
                if let run = runs.first, run.lowerBound == index {
                    runs = runs.dropFirst()
                    writes.removeAll(keepingCapacity: true)
                    for job in batch[run] { writes.append(job.write!) }
                    mergedCalls.wrappingIncrement(ordering: .relaxed)
                    mergedWrites.wrappingIncrement(by: writes.count, ordering: .relaxed)
                    if PositionalWrite.writeMerged(writes[...], iovecs: &iovecs, storages: &storages) {
                        for write in writes {
                            let promise = write.promise
                            hand({ promise.succeed() }, to: promise.futureResult.eventLoop)
                        }
                    } else {
                        // Failed or short: each write on its own, so an error names its own range.
                        for write in writes { hand(writeAlone(write), to: write.promise.futureResult.eventLoop) }
                    }
                    index = run.upperBound
                    continue
                }
                let job = batch[index]
                switch job.kind {
                case .call(let work): hand(work(), to: job.loop)
                case .write(let write): hand(writeAlone(write), to: job.loop)
                }
                index += 1
            }
            writes.removeAll(keepingCapacity: true)
            batch.removeAll(keepingCapacity: true)
            for group in groups {
                let completions = group.completions
                group.loop.execute { for c in completions { c() } }
            }
        }
    }
}
