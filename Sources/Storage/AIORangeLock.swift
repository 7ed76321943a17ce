import NIOConcurrencyHelpers

/// Byte-range locks over one backing file, for the aio engine's read-modify-write.
///
/// O_DIRECT moves whole aligned blocks, so a write that covers only part of a block reads
/// the block, patches it and writes it back. Two such writes to different sectors of one
/// block (which an initiator may legally have in flight together) would each write back the
/// other's stale bytes. So a read-modify-write takes its aligned range exclusively, and every
/// other write takes its range shared: shared ranges never wait for each other (overlapping
/// plain writes are the initiator's business), an exclusive one waits for every overlapping
/// holder and makes later overlapping requests wait behind it (first come, first served).
///
/// Shared by every aio device on the same file (slices of one file may share a block at
/// their boundary), across event loops; grants run on the thread that releases. A LU uses
/// one the same way for COMPARE AND WRITE: exclusive over its blocks from the read to the end
/// of the write, while every other write holds its blocks shared.
public final class AIORangeLock: @unchecked Sendable {
    struct Range {
        let id: UInt64
        let lo: UInt64
        let hi: UInt64
        let exclusive: Bool

        func conflicts(with other: Range) -> Bool {
            (exclusive || other.exclusive) && lo < other.hi && other.lo < hi
        }
    }

    private struct Waiter {
        let range: Range
        let grant: @Sendable (UInt64) -> Void
    }

    private let lock = NIOLock()
    private var held: [Range] = []
    private var waiting: [Waiter] = []
    /// Exclusive ranges held or waiting: when zero, a shared range is granted without a scan.
    private var exclusives = 0
    private var nextID: UInt64 = 1

    public init() {}

    /// Takes [lo, hi) and calls `grant` with the token for `release`: at once on this thread
    /// when nothing conflicts, else later on the thread whose release makes way.
    public func acquire(lo: UInt64, hi: UInt64, exclusive: Bool, grant: @escaping @Sendable (UInt64) -> Void) {
        let granted: UInt64? = lock.withLock {
            let range = Range(id: nextID, lo: lo, hi: hi, exclusive: exclusive)
            nextID &+= 1
            if exclusive { exclusives += 1 }
            if exclusives == 0 || !(held.contains { $0.conflicts(with: range) } || waiting.contains { $0.range.conflicts(with: range) }) {
                held.append(range)
                return range.id
            }
            waiting.append(Waiter(range: range, grant: grant))
            return nil
        }
        if let granted { grant(granted) }
    }

    public func release(_ id: UInt64) {
        let grants: [(UInt64, @Sendable (UInt64) -> Void)] = lock.withLock {
            guard let index = held.firstIndex(where: { $0.id == id }) else {
                preconditionFailure("AIORangeLock: release of a range that is not held")
            }
            if held[index].exclusive { exclusives -= 1 }
            held.remove(at: index)
            guard !waiting.isEmpty else { return [] }
            // Grant, in arrival order, every waiter that conflicts neither with a holder nor
            // with an earlier waiter that stays.
            var granted: [(UInt64, @Sendable (UInt64) -> Void)] = []
            var remaining: [Waiter] = []
            for waiter in waiting {
                let blocked = held.contains { $0.conflicts(with: waiter.range) }
                    || remaining.contains { $0.range.conflicts(with: waiter.range) }
                if blocked {
                    remaining.append(waiter)
                } else {
                    held.append(waiter.range)
                    granted.append((waiter.range.id, waiter.grant))
                }
            }
            waiting = remaining
            return granted
        }
        for (id, grant) in grants { grant(id) }
    }

    /// Ranges held and waiting (tests).
    var counts: (held: Int, waiting: Int) {
        lock.withLock { (held.count, waiting.count) }
    }
}
