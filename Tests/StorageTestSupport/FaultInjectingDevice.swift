import Glibc
import NIOConcurrencyHelpers
import NIOCore
import Storage

/// A device that passes requests to another one and fails chosen ones, for tests of the
/// RAID layer: EIO (`StorageError.io`) on the Nth request or on every request from the Nth
/// on, or a short transfer (a read that returns fewer bytes than asked, a write that stores
/// only the first half and then fails with `StorageError.shortTransfer`).
///
/// Deterministic: each fault counts the requests of its own operations from the moment it
/// was added, in the order the calls arrive. Optional latency (completion deferred on the
/// caller's event loop) keeps requests in flight long enough for queue-depth tests.
public final class FaultInjectingDevice: BlockDevice, @unchecked Sendable {
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        case read, write, flush
    }

    /// Which requests a fault hits, counting from 1 among the requests of its operations.
    public enum Trigger: Sendable, Equatable {
        /// Only the Nth request.
        case nth(Int)
        /// The Nth and every later request.
        case from(Int)
    }

    public enum Effect: Sendable, Equatable {
        /// Fail with `StorageError.io(errno:)` without touching the wrapped device.
        case error(errno: Int32)
        /// Transfer only half (reads return a short buffer; writes store the first half and
        /// fail with `shortTransfer`; a flush fails with EIO).
        case short
    }

    public struct Fault: Sendable, Equatable {
        public var operations: Set<Operation>
        public var trigger: Trigger
        public var effect: Effect

        public init(_ operations: Set<Operation>, _ trigger: Trigger, _ effect: Effect = .error(errno: EIO)) {
            self.operations = operations
            self.trigger = trigger
            self.effect = effect
        }
    }

    /// What went through, for assertions.
    public struct Counters: Sendable, Equatable {
        public var reads = 0
        public var writes = 0
        public var flushes = 0
        public var bytesRead: UInt64 = 0
        public var bytesWritten: UInt64 = 0
        /// Requests failed or shortened by a fault.
        public var injected = 0
        /// Most requests in flight at once (reads and writes that reached the wrapped device).
        public var maxInFlight = 0
        public init() {}
    }

    private struct Armed {
        var fault: Fault
        var seen = 0
    }

    private struct State {
        var faults: [Armed] = []
        var counters = Counters()
        var inFlight = 0
    }

    public let wrapped: BlockDevice
    public let name: String
    public var size: UInt64 { wrapped.size }
    public var hasVolatileCache: Bool { wrapped.hasVolatileCache }
    /// Added to every read and write (nil: complete as soon as the wrapped device does).
    public let latency: TimeAmount?
    /// Whether `close()` closes the wrapped device (false: a test "restarts" over the same
    /// RAM disks, as a real restart reopens the same disks).
    public let closesWrapped: Bool
    private let state = NIOLockedValueBox(State())

    public init(wrapping device: BlockDevice, name: String? = nil, latency: TimeAmount? = nil, closesWrapped: Bool = true) {
        self.wrapped = device
        self.name = name ?? device.name
        self.latency = latency
        self.closesWrapped = closesWrapped
    }

    public func inject(_ fault: Fault) {
        state.withLockedValue { $0.faults.append(Armed(fault: fault)) }
    }

    /// Fails the Nth request of `operations` (counted from now) with EIO.
    public func failNth(_ n: Int, of operations: Set<Operation> = Set(Operation.allCases)) {
        inject(Fault(operations, .nth(n)))
    }

    /// Fails the Nth request of `operations` and every one after it with EIO.
    public func failFrom(_ n: Int, of operations: Set<Operation> = Set(Operation.allCases)) {
        inject(Fault(operations, .from(n)))
    }

    /// Removes every fault: the device works again (a member "coming back").
    public func heal() {
        state.withLockedValue { $0.faults.removeAll() }
    }

    public var counters: Counters { state.withLockedValue { $0.counters } }

    public func resetCounters() {
        state.withLockedValue { $0.counters = Counters() }
    }

    /// Counts the request and returns the effect of the first fault that hits it.
    private func admit(_ operation: Operation, bytes: Int) -> Effect? {
        state.withLockedValue { s in
            switch operation {
            case .read: s.counters.reads += 1
            case .write: s.counters.writes += 1
            case .flush: s.counters.flushes += 1
            }
            var hit: Effect?
            for i in s.faults.indices where s.faults[i].fault.operations.contains(operation) {
                s.faults[i].seen += 1
                let seen = s.faults[i].seen
                let fires: Bool
                switch s.faults[i].fault.trigger {
                case let .nth(n): fires = seen == n
                case let .from(n): fires = seen >= n
                }
                if fires && hit == nil { hit = s.faults[i].fault.effect }
            }
            if hit != nil {
                s.counters.injected += 1
            } else {
                switch operation {
                case .read: s.counters.bytesRead += UInt64(bytes)
                case .write: s.counters.bytesWritten += UInt64(bytes)
                case .flush: break
                }
            }
            return hit
        }
    }

    private func started() {
        state.withLockedValue { s in
            s.inFlight += 1
            s.counters.maxInFlight = max(s.counters.maxInFlight, s.inFlight)
        }
    }

    private func finished() {
        state.withLockedValue { $0.inFlight -= 1 }
    }

    /// Applies the latency, then completes on `eventLoop`.
    private func delayed<T: Sendable>(_ future: EventLoopFuture<T>, on eventLoop: EventLoop) -> EventLoopFuture<T> {
        guard let latency else { return future }
        return future.flatMap { value in
            eventLoop.scheduleTask(in: latency) { value }.futureResult
        }.flatMapError { error in
            eventLoop.scheduleTask(in: latency) { throw error }.futureResult
        }
    }

    public func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        switch admit(.read, bytes: length) {
        case let .error(e)?:
            return delayed(eventLoop.makeFailedFuture(StorageError.io(device: name, operation: "read", offset: offset, length: length, errno: e)), on: eventLoop)
        case .short?:
            return delayed(wrapped.read(offset: offset, length: length, on: eventLoop).map { buffer in
                buffer.getSlice(at: buffer.readerIndex, length: buffer.readableBytes / 2) ?? buffer
            }, on: eventLoop)
        case nil:
            started()
            let future = wrapped.read(offset: offset, length: length, on: eventLoop)
            return delayed(future, on: eventLoop).always { _ in self.finished() }
        }
    }

    public func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let length = buffers.reduce(0) { $0 + $1.readableBytes }
        switch admit(.write, bytes: length) {
        case let .error(e)?:
            return delayed(eventLoop.makeFailedFuture(StorageError.io(device: name, operation: "write", offset: offset, length: length, errno: e)), on: eventLoop)
        case .short?:
            // Store the first half of the data, then report the shortfall.
            var half: [ByteBuffer] = []
            var left = length / 2
            for buffer in buffers where left > 0 {
                let take = min(left, buffer.readableBytes)
                half.append(buffer.getSlice(at: buffer.readerIndex, length: take)!)
                left -= take
            }
            let name = self.name
            return delayed(wrapped.write(offset: offset, buffers: half, forceUnitAccess: forceUnitAccess, on: eventLoop).flatMapThrowing {
                throw StorageError.shortTransfer(device: name, operation: "write", offset: offset, expected: length, transferred: length / 2)
            }, on: eventLoop)
        case nil:
            started()
            let future = wrapped.write(offset: offset, buffers: buffers, forceUnitAccess: forceUnitAccess, on: eventLoop)
            return delayed(future, on: eventLoop).always { _ in self.finished() }
        }
    }

    public func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if admit(.flush, bytes: 0) != nil {
            return eventLoop.makeFailedFuture(StorageError.io(device: name, operation: "flush", offset: 0, length: 0, errno: EIO))
        }
        return wrapped.flush(on: eventLoop)
    }

    public func close() {
        if closesWrapped { wrapped.close() }
    }
}
