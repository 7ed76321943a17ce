import Atomics
import Glibc
import NIOCore

/// A RAM disk of fixed size (`ram 256MiB` in the config): anonymous memory, zero-filled,
/// gone when the process ends. Copies happen on the calling event loop; a memcpy of a
/// request is cheaper than any hand-off to another thread.
public final class RAMDevice: BlockDevice, @unchecked Sendable {
    public let name: String
    public let size: UInt64
    public var hasVolatileCache: Bool { false }

    private let memory: UnsafeMutableRawPointer
    private let allocator = ByteBufferAllocator()
    private let isClosed = ManagedAtomic<Bool>(false)

    public init(name: String, size: UInt64) throws(StorageError) {
        let p = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else {
            throw .io(device: name, operation: "allocate", offset: 0, length: Int(size), errno: errno)
        }
        self.name = name
        self.size = size
        self.memory = p
    }

    deinit { close() }

    public func close() {
        if isClosed.exchange(true, ordering: .acquiring) == false { munmap(memory, Int(size)) }
    }

    private func check(_ offset: UInt64, _ length: Int) -> StorageError? {
        if isClosed.load(ordering: .relaxed) { return .closed(device: name) }
        if offset > size || UInt64(length) > size - offset {
            return .outOfRange(device: name, offset: offset, length: length, size: size)
        }
        return nil
    }

    public func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        var buffer = allocator.buffer(capacity: length)
        buffer.writeBytes(UnsafeRawBufferPointer(start: memory + Int(offset), count: length))
        return eventLoop.makeSucceededFuture(buffer)
    }

    public func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let length = buffers.reduce(0) { $0 + $1.readableBytes }
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        var position = Int(offset)
        for buffer in buffers {
            buffer.withUnsafeReadableBytes { raw in
                if let src = raw.baseAddress { (memory + position).copyMemory(from: src, byteCount: raw.count) }
            }
            position += buffer.readableBytes
        }
        return eventLoop.makeSucceededVoidFuture()
    }

    public func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if isClosed.load(ordering: .relaxed) { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
        return eventLoop.makeSucceededVoidFuture()
    }
}

extension RAMDevice: DeviceStatusReporting {
    public var status: DeviceStatus { DeviceStatus(kind: "ram") }
}
