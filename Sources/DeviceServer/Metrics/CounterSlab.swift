import Atomics
import NIOCore

/// A fixed row of 64-bit counters that one event loop adds to and any thread reads.
///
/// Each loop has its own slab per LU, so counting on the data path never shares a cache line
/// with another loop and takes no lock: a relaxed atomic add on memory only that loop writes.
/// A scrape reads every slab with relaxed loads and sums them (`LoopSlots`).
final class CounterSlab: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    let count: Int

    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: UnsafeAtomic<UInt64>.Storage(0), count: count)
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    @inline(__always)
    func add(_ amount: UInt64, at slot: Int) {
        UnsafeAtomic<UInt64>(at: storage + slot).wrappingIncrement(by: amount, ordering: .relaxed)
    }

    @inline(__always)
    func load(_ slot: Int) -> UInt64 {
        UnsafeAtomic<UInt64>(at: storage + slot).load(ordering: .relaxed)
    }
}

/// Which slab an event loop counts in: one per loop of the server's group, plus one shared
/// by every other caller (tests, a loop the group does not know), which stays correct
/// because every add is atomic. Built once at start; a lookup is a scan of a few identifiers.
public final class LoopSlots: Sendable {
    private let loops: [ObjectIdentifier]

    public init(loops: [EventLoop]) {
        self.loops = loops.map { ObjectIdentifier($0) }
    }

    /// A single shared slab: for LUs made outside a server (tests, tools).
    public static let shared = LoopSlots(loops: [])

    /// How many slabs a meter keeps.
    var slabCount: Int { loops.count + 1 }

    @inline(__always)
    func index(of loop: EventLoop) -> Int {
        let id = ObjectIdentifier(loop)
        for i in loops.indices where loops[i] == id { return i }
        return loops.count
    }
}
