import CLibaio
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// The `aio` engine: a block device or regular file opened with O_DIRECT, read and written
/// with Linux native AIO (io_submit) on the calling event loop's context (see `AIOEngine`),
/// completions reaped by that loop from an eventfd. No thread and no page cache on the data
/// path; the loop never blocks (except what io_submit itself may do, see below).
///
/// O_DIRECT moves whole aligned blocks from aligned memory, so:
/// - reads are widened to `alignment` and land in a ByteBuffer allocated `alignment` bytes
///   larger than needed, at the first aligned address inside it; the buffer handed back is
///   a view of just the bytes asked for (no copy: reading into aligned scratch memory and
///   copying out would cost one memcpy per read for nothing);
/// - writes whose offset, length and buffers are all aligned go straight from the caller's
///   buffers (pwritev, no copy: e.g. a buffer read from another aio device); any other write
///   is copied into an aligned staging buffer, and a write that covers only part of its
///   first or last block reads that block first (read-modify-write) while holding the
///   block range exclusively (`AIORangeLock`), so that writes to neighbouring sectors of one
///   block cannot undo each other.
/// - FUA writes carry RWF_DSYNC in the iocb (Linux >= 4.13): the data and the metadata to
///   find it are stable when the write completes (FUA or a cache flush on block devices, a
///   journal commit for allocating file writes);
///   `flush` is fdatasync on a per-device thread (started on first use).
///
/// `hasVolatileCache` (WCE) is true for regular files (O_DIRECT skips the page cache, but
/// block allocation and file size updates wait in the journal and the disk below may cache)
/// and for block devices whose queue reports a write-back cache
/// (/sys/dev/block/M:m/queue/write_cache); false only for write-through block devices, where
/// a completed O_DIRECT write is already stable.
///
/// io_submit can block inside the kernel when the file system must allocate blocks (writes
/// into holes of a sparse file, extending writes); preallocated files and block devices
/// keep it short.
public final class AIOFileDevice: GrowableDevice, @unchecked Sendable {
    public let name: String
    /// The exported size; a reload may grow it.
    public var size: UInt64 { extent.size }
    private let extent: GrowableExtent
    public let hasVolatileCache: Bool
    /// O_DIRECT granularity of file offsets, lengths and memory addresses.
    public let alignment: Int

    private let fd: Int32
    /// Where the exported range starts in the file (a slice's `offset`).
    private let base: UInt64
    private let engine: AIOEngine
    private let ranges: AIORangeLock
    /// fdatasync for `flush`; its thread starts on first use.
    private let pool: IOWorkers
    private let allocator = ByteBufferAllocator()
    private let usage = NIOLockedValueBox(Usage())

    private struct Usage {
        var closed = false
        /// Requests that still use `fd`; the last one out after `close` closes it.
        var active = 0
    }

    /// Largest number of caller buffers written without a copy (IOV_MAX).
    static let maxIovecs = 1024

    /// Takes ownership of `fd`, which must have O_DIRECT set. `alignment` is a power of two.
    public init(name: String, fd: Int32, base: UInt64, size: UInt64, alignment: Int,
                hasVolatileCache: Bool, engine: AIOEngine) {
        precondition(alignment >= 512 && alignment & (alignment - 1) == 0, "alignment must be a power of two >= 512")
        self.name = name
        self.fd = fd
        self.base = base
        self.extent = GrowableExtent(fd: fd, base: base, size: size, name: name)
        self.alignment = alignment
        self.hasVolatileCache = hasVolatileCache
        self.engine = engine
        self.pool = IOWorkers(threads: 1, name: name)
        var st = stat()
        if fstat(fd, &st) == 0 {
            ranges = engine.rangeLock(for: .init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
        } else {
            ranges = AIORangeLock()
        }
    }

    deinit { close() }

    public func close() {
        let closeNow = usage.withLockedValue { usage -> Bool in
            guard !usage.closed else { return false }
            usage.closed = true
            return usage.active == 0
        }
        pool.shutdown()  // finishes a queued flush first
        if closeNow { Glibc.close(fd) }
    }

    /// Counts a request that will use `fd`; false once closed.
    private func begin() -> Bool {
        usage.withLockedValue { usage in
            if usage.closed { return false }
            usage.active += 1
            return true
        }
    }

    private func end() {
        let closeNow = usage.withLockedValue { usage -> Bool in
            usage.active -= 1
            return usage.closed && usage.active == 0
        }
        if closeNow { Glibc.close(fd) }
    }

    public func availableBytes() throws(StorageError) -> UInt64 { try extent.availableBytes() }

    public func grow(to size: UInt64, extendFile: Bool) throws(StorageError) {
        try extent.grow(to: size, extendFile: extendFile)
    }

    private func check(_ offset: UInt64, _ length: Int) -> StorageError? {
        if usage.withLockedValue({ $0.closed }) { return .closed(device: name) }
        let size = self.size
        if length < 0 || offset > size || UInt64(length) > size - offset {
            return .outOfRange(device: name, offset: offset, length: length, size: size)
        }
        return nil
    }

    private func alignDown(_ value: UInt64) -> UInt64 { value & ~UInt64(alignment - 1) }
    private func alignUp(_ value: UInt64) -> UInt64 { alignDown(value + UInt64(alignment - 1)) }

    /// Runs `body` on `loop` (at once when already there).
    private func onLoop(_ loop: EventLoop, _ body: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { body() } else { loop.execute(body) }
    }

    /// The loop's AIO context, or nil after failing `promise` (and ending the request).
    private func context<T>(on loop: EventLoop, failing promise: EventLoopPromise<T>) -> AIOContext? {
        do {
            return try engine.context(for: loop)
        } catch {
            end()
            promise.fail(error)
            return nil
        }
    }

    /// The first `alignment`-aligned address in `buffer`'s writable bytes (which must have
    /// `alignment` bytes to spare), as an offset from its writer index.
    private func alignedStart(of buffer: inout ByteBuffer) -> Int {
        let mask = alignment - 1
        return buffer.withUnsafeMutableWritableBytes { raw in
            let address = Int(bitPattern: raw.baseAddress!)
            return (alignment - (address & mask)) & mask
        }
    }

    /// A new buffer whose bytes from the returned offset on are `alignment`-aligned, `span` long.
    private func alignedBuffer(span: Int) -> (ByteBuffer, Int, UnsafeMutableRawPointer) {
        var buffer = allocator.buffer(capacity: span + alignment)
        let pad = alignedStart(of: &buffer)
        // The storage is not reallocated while `buffer` is neither grown nor copied-on-write,
        // so the address stays valid as long as the buffer lives (the completion keeps it).
        let pointer = buffer.withUnsafeMutableWritableBytes { $0.baseAddress! + pad }
        return (buffer, pad, pointer)
    }

    // MARK: read

    public func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        guard length > 0 else { return eventLoop.makeSucceededFuture(allocator.buffer(capacity: 0)) }
        guard begin() else { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        onLoop(eventLoop) { self.startRead(offset: offset, length: length, on: eventLoop, promise: promise) }
        return promise.futureResult
    }

    private func startRead(offset: UInt64, length: Int, on loop: EventLoop, promise: EventLoopPromise<ByteBuffer>) {
        guard let context = context(on: loop, failing: promise) else { return }
        let start = base + offset
        let lo = alignDown(start)
        let span = Int(alignUp(start + UInt64(length)) - lo)
        let skip = Int(start - lo)
        let (buffer, pad, pointer) = alignedBuffer(span: span)
        let name = self.name
        context.submit(AIOOperation(fd: fd, kind: .read(pointer, span), offset: lo) { result in
            defer { self.end() }
            if result < 0 {
                promise.fail(StorageError.io(device: name, operation: "read", offset: offset, length: length, errno: Int32(-result)))
            } else if result < skip + length {
                // Only at the end of a file that shrank under us.
                promise.fail(StorageError.shortTransfer(device: name, operation: "read", offset: offset,
                                                        expected: length, transferred: max(0, result - skip)))
            } else {
                var out = buffer
                out.moveWriterIndex(to: pad + skip + length)
                out.moveReaderIndex(to: pad + skip)
                promise.succeed(out)
            }
        })
    }

    // MARK: write

    public func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let length = buffers.reduce(0) { $0 + $1.readableBytes }
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        guard length > 0 else { return eventLoop.makeSucceededVoidFuture() }
        guard begin() else { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
        let promise = eventLoop.makePromise(of: Void.self)
        let start = base + offset
        let lo = alignDown(start)
        let hi = alignUp(start + UInt64(length))
        let partial = start != lo || start + UInt64(length) != hi
        let request = WriteRequest(offset: offset, length: length, lo: lo, hi: hi, start: start,
                                   buffers: buffers, fua: forceUnitAccess, loop: eventLoop, promise: promise)
        ranges.acquire(lo: lo, hi: hi, exclusive: partial) { token in
            self.onLoop(eventLoop) { self.startWrite(request, token: token) }
        }
        return promise.futureResult
    }

    private struct WriteRequest: Sendable {
        let offset: UInt64
        let length: Int
        /// The aligned range written: [lo, hi) in file offsets.
        let lo: UInt64
        let hi: UInt64
        /// File offset of the first byte of data.
        let start: UInt64
        let buffers: [ByteBuffer]
        let fua: Bool
        let loop: EventLoop
        let promise: EventLoopPromise<Void>
    }

    /// True when the buffers can go to the kernel as they are.
    private func directlyWritable(_ request: WriteRequest) -> Bool {
        guard request.start == request.lo, request.buffers.count <= Self.maxIovecs else { return false }
        let mask = alignment - 1
        return request.buffers.allSatisfy { buffer in
            buffer.readableBytes & mask == 0
                && buffer.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) & mask == 0 }
        }
    }

    private func startWrite(_ request: WriteRequest, token: UInt64) {
        let finish: (StorageError?) -> Void = { error in
            self.ranges.release(token)
            self.end()
            if let error { request.promise.fail(error) } else { request.promise.succeed() }
        }
        let context: AIOContext
        do {
            context = try engine.context(for: request.loop)
        } catch {
            return finish(error)
        }
        let span = Int(request.hi - request.lo)
        let name = self.name
        let written: (Int) -> Void = { result in
            if result < 0 {
                finish(.io(device: name, operation: "write", offset: request.offset, length: request.length, errno: Int32(-result)))
            } else if result != span {
                finish(.shortTransfer(device: name, operation: "write", offset: request.offset, expected: span, transferred: result))
            } else {
                finish(nil)
            }
        }

        if directlyWritable(request) {
            let buffers = request.buffers
            if buffers.count == 1 {
                let pointer = buffers[0].withUnsafeReadableBytes { $0.baseAddress! }
                submitWrite(context, .write(pointer, span), request, keep: buffers, done: written)
            } else {
                let vector = UnsafeMutablePointer<iovec>.allocate(capacity: buffers.count)
                for (i, buffer) in buffers.enumerated() {
                    vector[i] = buffer.withUnsafeReadableBytes {
                        iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
                    }
                }
                submitWrite(context, .writev(vector, Int32(buffers.count)), request, keep: buffers) { result in
                    vector.deallocate()
                    written(result)
                }
            }
            return
        }

        // Copy into an aligned staging buffer, after reading partial head/tail blocks.
        let (staging, _, area) = alignedBuffer(span: span)
        let a = alignment
        let headPartial = request.start != request.lo
        let tailPartial = request.start + UInt64(request.length) != request.hi
        let copyAndWrite = {
            var at = area + Int(request.start - request.lo)
            for buffer in request.buffers {
                buffer.withUnsafeReadableBytes { raw in
                    at.copyMemory(from: raw.baseAddress!, byteCount: raw.count)
                    at += raw.count
                }
            }
            self.submitWrite(context, .write(UnsafeRawPointer(area), span), request, keep: [staging], done: written)
        }
        var reads: [(UnsafeMutableRawPointer, UInt64)] = []
        if headPartial { reads.append((area, request.lo)) }
        if tailPartial && !(headPartial && span == a) { reads.append((area + span - a, request.hi - UInt64(a))) }
        guard !reads.isEmpty else { return copyAndWrite() }
        var pending = reads.count
        var failure: StorageError?
        for (pointer, at) in reads {
            context.submit(AIOOperation(fd: fd, kind: .read(pointer, a), offset: at) { result in
                _ = staging  // keeps the memory alive
                if failure == nil {
                    if result < 0 {
                        failure = .io(device: name, operation: "read (for a partial-block write)", offset: request.offset,
                                      length: request.length, errno: Int32(-result))
                    } else if result < a {
                        failure = .shortTransfer(device: name, operation: "read (for a partial-block write)",
                                                 offset: request.offset, expected: a, transferred: result)
                    }
                }
                pending -= 1
                guard pending == 0 else { return }
                if let failure { finish(failure) } else { copyAndWrite() }
            })
        }
    }

    /// Submits the write of the aligned range [lo, hi), with RWF_DSYNC for FUA (Linux >= 4.13).
    /// `keep` lives until the write completes.
    private func submitWrite(_ context: AIOContext, _ kind: AIOOperation.Kind, _ request: WriteRequest,
                             keep: [ByteBuffer], done: @escaping (Int) -> Void) {
        context.submit(AIOOperation(fd: fd, kind: kind, offset: request.lo, rwFlags: request.fua ? TARGE_RWF_DSYNC : 0) { result in
            _ = keep
            done(result)
        })
    }

    // MARK: flush

    public func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        guard begin() else { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
        let fd = self.fd
        let name = self.name
        let future = pool.submit(on: eventLoop) {
            if fdatasync(fd) != 0 {
                throw StorageError.io(device: name, operation: "flush", offset: 0, length: 0, errno: errno)
            }
        }
        future.whenComplete { _ in self.end() }
        return future
    }
}

extension AIOFileDevice: DeviceStatusReporting {
    public var status: DeviceStatus { DeviceStatus(kind: "aio") }
}
