import NIOCore

/// A byte-addressed store that backs a logical unit: a file, a block device, a RAM disk,
/// later a RAID combination. Calls may come from any event loop; results are delivered on
/// the loop passed in, and no call ever blocks that loop.
public protocol BlockDevice: AnyObject, Sendable {
    /// The name from the config, for logs and errors.
    var name: String { get }
    /// Bytes exported (already the slice's size when the config gives offset/size).
    var size: UInt64 { get }
    /// True when completed writes may still sit in a volatile cache (page cache), so that
    /// SYNCHRONIZE CACHE and FUA have work to do; reported as WCE in the caching mode page.
    var hasVolatileCache: Bool { get }

    /// Reads `length` bytes at `offset` into a new buffer.
    func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer>
    /// Writes the buffers back to back from `offset`. With `forceUnitAccess` the data is on
    /// stable storage when the future succeeds.
    func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void>
    /// Makes every completed write durable.
    func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void>
    /// Releases the device's resources; later calls fail.
    func close()
}

extension BlockDevice {
    /// Reads exactly `length` bytes at `offset`: a shorter buffer fails with
    /// `StorageError.shortTransfer` (a member of a RAID must not pass on a short read).
    public func readExactly(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        let name = self.name
        return read(offset: offset, length: length, on: eventLoop).flatMapThrowing { buffer in
            guard buffer.readableBytes == length else {
                throw StorageError.shortTransfer(device: name, operation: "read", offset: offset,
                                                 expected: length, transferred: buffer.readableBytes)
            }
            return buffer
        }
    }
}
