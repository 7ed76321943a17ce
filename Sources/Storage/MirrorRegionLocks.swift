import NIOCore

/// The region locks of a RAID1, over write-intent bitmap regions: a write holds its regions
/// shared, a resync copy holds its region exclusively, so a copy never interleaves with a
/// write to the same region (the copy would put back the data the write replaced). A copy
/// waits for the writes in flight there; a write waits for a copy that runs or waits there,
/// so a busy region cannot starve its copy.
///
/// It also remembers what the bitmap cleaner asks: the writes in flight per region, and the
/// sequence number of the last write granted per dirty region.
///
/// A plain value with no lock of its own: `RAID1Device` keeps it under its lock. Promises
/// it returns are completed by the caller outside that lock.
struct MirrorRegionLocks {
    private struct PendingWrite {
        var regions: Range<Int>
        var promise: EventLoopPromise<Void>
    }

    private struct PendingCopy {
        var region: Int
        var promise: EventLoopPromise<Void>
    }

    /// Writes in flight per region (no entry = none).
    private var writers: [Int: Int] = [:]
    /// Sequence number of the last write granted per dirty region.
    private var lastWrite: [Int: UInt64] = [:]
    /// The sequence number the next granted write gets.
    private(set) var writeSequence: UInt64 = 1
    /// Regions a resync is copying; writes there wait.
    private var copying: Set<Int> = []
    private var pendingCopies: [PendingCopy] = []
    private var pendingWrites: [PendingWrite] = []

    /// No write and no copy holds a region.
    var isIdle: Bool { writers.isEmpty && copying.isEmpty }

    func hasWriter(_ region: Int) -> Bool { writers[region] != nil }

    /// Of `regions`, those with no write in flight and none granted since `sequence`.
    func quiet(_ regions: [Int], since sequence: UInt64) -> [Int] {
        regions.filter { writers[$0] == nil && lastWrite[$0, default: 0] < sequence }
    }

    /// Forgets the last writes of regions whose bits were cleared.
    mutating func forgetWrites(_ regions: [Int]) {
        for r in regions { lastWrite[r] = nil }
    }

    // MARK: writes (shared)

    /// Takes `regions` shared: a succeeded future when granted now, else one that succeeds
    /// when the copies there are done.
    mutating func acquireWrite(_ regions: Range<Int>, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if conflicts(regions) {
            let promise = eventLoop.makePromise(of: Void.self)
            pendingWrites.append(PendingWrite(regions: regions, promise: promise))
            return promise.futureResult
        }
        grantWrite(regions)
        return eventLoop.makeSucceededVoidFuture()
    }

    /// Releases a write's regions; returns the copies it lets start.
    mutating func releaseWrite(_ regions: Range<Int>) -> [EventLoopPromise<Void>] {
        for r in regions {
            let n = writers[r, default: 1] - 1
            writers[r] = n == 0 ? nil : n
        }
        return grantCopies()
    }

    private func conflicts(_ regions: Range<Int>) -> Bool {
        if copying.isEmpty && pendingCopies.isEmpty { return false }
        return regions.contains { copying.contains($0) } || pendingCopies.contains { regions.contains($0.region) }
    }

    private mutating func grantWrite(_ regions: Range<Int>) {
        for r in regions {
            writers[r, default: 0] += 1
            lastWrite[r] = writeSequence
        }
        writeSequence += 1
    }

    // MARK: copies (exclusive)

    /// Takes `region` exclusively: a succeeded future when granted now, else one that
    /// succeeds when the writes and the copy there are done.
    mutating func acquireCopy(_ region: Int, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if writers[region] != nil || copying.contains(region) {
            let promise = eventLoop.makePromise(of: Void.self)
            pendingCopies.append(PendingCopy(region: region, promise: promise))
            return promise.futureResult
        }
        copying.insert(region)
        return eventLoop.makeSucceededVoidFuture()
    }

    /// Releases a copy's region; returns the copies and writes it lets start.
    mutating func releaseCopy(_ region: Int) -> [EventLoopPromise<Void>] {
        copying.remove(region)
        var granted = grantCopies()
        var waiting: [PendingWrite] = []
        for w in pendingWrites {
            if conflicts(w.regions) {
                waiting.append(w)
            } else {
                grantWrite(w.regions)
                granted.append(w.promise)
            }
        }
        pendingWrites = waiting
        return granted
    }

    /// Starts the copies whose region has no write in flight any more.
    private mutating func grantCopies() -> [EventLoopPromise<Void>] {
        guard !pendingCopies.isEmpty else { return [] }
        var granted: [EventLoopPromise<Void>] = []
        var waiting: [PendingCopy] = []
        for c in pendingCopies {
            if writers[c.region] == nil && !copying.contains(c.region) {
                copying.insert(c.region)
                granted.append(c.promise)
            } else {
                waiting.append(c)
            }
        }
        pendingCopies = waiting
        return granted
    }

    /// Drops every waiting write and copy (the mirror closes); returns their promises to fail.
    mutating func cancelWaiting() -> [EventLoopPromise<Void>] {
        let pending = pendingWrites.map(\.promise) + pendingCopies.map(\.promise)
        pendingWrites = []
        pendingCopies = []
        return pending
    }
}
