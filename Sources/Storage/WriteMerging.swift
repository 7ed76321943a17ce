import CSystemShims
import Glibc
import NIOCore

/// A buffered write waiting for a worker thread, which may merge it with the writes queued
/// right after it (see `WriteMerging`).
struct PendingWrite {
    let fd: Int32
    let offset: UInt64
    let buffers: [ByteBuffer]
    let length: Int
    let dsync: Bool
    let promise: EventLoopPromise<Void>

    var shape: WriteMerging.Shape {
        WriteMerging.Shape(fd: fd, offset: offset, length: length, pieces: buffers.count, dsync: dsync)
    }
}

/// Which neighbouring writes in a worker's batch become one `pwritev`.
///
/// A stream of small sequential writes (an initiator's 4 KiB writes at queue depth 32) queues
/// up behind the one the worker is writing. Through the page cache each `pwrite` pays the
/// file system's per-call cost (on ext4 the walk of a large folio's buffer heads, more than
/// the copy of 4 KiB), so 32 writes that continue each other cost far more as 32 calls than
/// as one. Only writes that follow each other in the queue are merged, and only when each
/// starts where the previous one ends: the merged call writes exactly the bytes the separate
/// calls would have, in the same order, and nothing queued between them (a read, a flush)
/// is overtaken.
enum WriteMerging {
    /// What the planner needs to know of a write.
    struct Shape: Equatable {
        var fd: Int32
        var offset: UInt64
        var length: Int
        /// Buffers, i.e. iovecs.
        var pieces: Int
        var dsync: Bool
    }

    /// A merged write stays under these: large enough that 4 KiB writes amortize the call,
    /// small enough that the first write of a run is not held for long.
    static let maxBytes = 1 << 20
    static let maxPieces = 256

    /// Runs of two or more consecutive entries that can be written as one call, in order.
    /// `nil` entries (requests that are not writes) end a run.
    static func runs(_ shapes: [Shape?]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start = 0
        while start < shapes.count {
            guard let first = shapes[start] else {
                start += 1
                continue
            }
            var end = start + 1
            var bytes = first.length
            var pieces = first.pieces
            var next = first.offset + UInt64(first.length)
            while end < shapes.count, let shape = shapes[end],
                  shape.fd == first.fd, shape.dsync == first.dsync, shape.offset == next,
                  bytes + shape.length <= maxBytes, pieces + shape.pieces <= maxPieces {
                bytes += shape.length
                pieces += shape.pieces
                next += UInt64(shape.length)
                end += 1
            }
            if end - start >= 2 { result.append(start..<end) }
            start = end
        }
        return result
    }
}

/// Positional writes: without waiting (event loops) and blocking (worker threads).
enum PositionalWrite {
    /// Writes `buffers` from `start` with `write` (a positional write that does not wait:
    /// bytes written, or -1 with errno set) for as long as it takes whole buffers. Returns
    /// what is left for a worker (the first of it trimmed by what a short write took) and
    /// where that starts; `refused` when the file system does not do such writes at all.
    static func writeWithoutWaiting(_ buffers: [ByteBuffer], at start: UInt64,
                                    _ write: (UnsafeRawBufferPointer, UInt64) -> Int)
        -> (rest: [ByteBuffer], position: UInt64, refused: Bool) {
        var remaining = buffers[...]
        var position = start
        var refused = false
        while var first = remaining.first {
            let want = first.readableBytes
            let n = first.withUnsafeReadableBytes { write($0, position) }
            if n < 0 {
                refused = errno == EOPNOTSUPP || errno == EINVAL
                break
            }
            position += UInt64(n)
            if n < want {
                first.moveReaderIndex(forwardBy: n)
                remaining[remaining.startIndex] = first
                break
            }
            remaining = remaining.dropFirst()
        }
        // Nothing written: the caller's array as it is (no copy of it per write).
        return (position == start ? buffers : Array(remaining), position, refused)
    }

    /// Writes every byte of `buffers` from `start`, retried across short writes and EINTR.
    static func writeFully(fd: Int32, buffers: [ByteBuffer], at start: UInt64, dsync: Bool, name: String) throws {
        var position = start
        for var buffer in buffers {
            while buffer.readableBytes > 0 {
                let want = buffer.readableBytes
                let n = buffer.withUnsafeReadableBytes { raw -> Int in
                    var base: UnsafeRawPointer? = raw.baseAddress
                    var len = want
                    return targe_pwritev(fd, &base, &len, 1, off_t(position), dsync ? 1 : 0)
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StorageError.io(device: name, operation: "write", offset: position, length: want, errno: errno)
                }
                if n == 0 {
                    throw StorageError.shortTransfer(device: name, operation: "write", offset: position, expected: want, transferred: 0)
                }
                buffer.moveReaderIndex(forwardBy: n)
                position += UInt64(n)
            }
        }
    }

    /// One `pwritev2` of a run of writes that continue each other (`WriteMerging.runs`).
    /// True when every byte was written; otherwise nothing is known of how far it got, and
    /// each write must be done on its own (writing a byte twice, in order, is harmless).
    ///
    /// `iovecs` and `storages` are the caller's scratch arrays, kept between calls so that no
    /// run allocates.
    static func writeMerged(_ writes: ArraySlice<PendingWrite>, iovecs: inout [iovec],
                            storages: inout [Unmanaged<AnyObject>]) -> Bool {
        guard let first = writes.first else { return true }
        iovecs.removeAll(keepingCapacity: true)
        storages.removeAll(keepingCapacity: true)
        defer {
            for storage in storages { storage.release() }
            storages.removeAll(keepingCapacity: true)
        }
        var total = 0
        for write in writes {
            for buffer in write.buffers where buffer.readableBytes > 0 {
                // NIO's way to use a buffer's bytes after the closure (its own writev does
                // the same): the storage is retained until the call below has returned.
                buffer.withUnsafeReadableBytesWithStorageManagement { raw, storage in
                    storages.append(storage.retain())
                    iovecs.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count))
                }
                total += buffer.readableBytes
            }
        }
        let n = iovecs.withUnsafeBufferPointer { iov in
            targe_pwritev_iovecs(first.fd, iov.baseAddress, Int32(iov.count), off_t(first.offset), first.dsync ? 1 : 0)
        }
        return n == total
    }
}
