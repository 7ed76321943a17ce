import NIOCore

/// A backing store that can give blocks back (thin provisioning): UNMAP and WRITE SAME with
/// UNMAP deallocate, GET LBA STATUS asks what is mapped. Deallocated bytes read as zeros.
public protocol Deallocating: BlockDevice {
    /// Whether this store can deallocate at all (a regular file can; a block device behind
    /// the buffered engine is not asked to discard).
    var canDeallocate: Bool { get }
    /// Deallocates `length` bytes at `offset`; they read as zeros afterwards.
    func deallocate(offset: UInt64, length: UInt64, on eventLoop: EventLoop) -> EventLoopFuture<Void>
    /// Whether the byte at `offset` is mapped, and how many bytes from it (at most `length`)
    /// share that state.
    func allocation(at offset: UInt64, length: UInt64, on eventLoop: EventLoop) -> EventLoopFuture<(mapped: Bool, length: UInt64)>
}
