import NIOCore

/// Clearing write-intent bits once the members agree again, so a restart or a resync copies
/// only what may differ.
extension RAID1Device {
    private func allHealthyLocked() -> Bool {
        !closed && memberSet.allHealthy
    }

    /// Arms the cleaner when every member is healthy and some bit is set.
    func scheduleClean(on eventLoop: EventLoop) {
        let arm: Bool = lock.withLock {
            guard !cleanScheduled, allHealthyLocked(), bitmap.dirtyCount > 0 else { return false }
            cleanScheduled = true
            return true
        }
        guard arm else { return }
        eventLoop.scheduleTask(in: cleanDelay) {
            _ = self.cleanBitmap(on: eventLoop)
        }
    }

    /// Clears the bits of regions the members agree on: every member healthy, no write in
    /// flight there, none since the members were flushed. Returns how many bits it cleared.
    /// Runs by itself `cleanDelay` after writes; callable directly (tests, shutdown).
    public func cleanBitmap(on eventLoop: EventLoop) -> EventLoopFuture<Int> {
        let snapshot: (sequence: UInt64, candidates: [Int], devices: [(Int, BlockDevice)])? = lock.withLock {
            cleanScheduled = false
            guard allHealthyLocked() else { return nil }
            let candidates = bitmap.dirtyRegions.filter { !regionLocks.hasWriter($0) }
            // Removed members are out of the mirror (and closed): only the others are flushed.
            return (regionLocks.writeSequence, candidates,
                    memberSet.indices.filter { !memberSet[$0].removed }.map { ($0, memberSet[$0].device) })
        }
        guard let snapshot, !snapshot.candidates.isEmpty else { return eventLoop.makeSucceededFuture(0) }
        let flushes = snapshot.devices.map { $0.1.flush(on: eventLoop) }
        return EventLoopFuture.whenAllComplete(flushes, on: eventLoop).flatMap { results in
            var failed = false
            for ((index, device), result) in zip(snapshot.devices, results) {
                if case let .failure(error) = result {
                    failed = true
                    _ = self.memberFailed(index, device: device, error: error, on: eventLoop)
                }
            }
            if failed { return eventLoop.makeSucceededFuture(0) }
            let cleared: [Int] = self.lock.withLock {
                guard self.allHealthyLocked() else { return [] }
                let cleared = self.regionLocks.quiet(snapshot.candidates, since: snapshot.sequence)
                // Under the mirror's lock: a write granted after this sees the bit clear and
                // sets it (and waits for it to be on disk) again.
                self.bitmap.clear(cleared)
                self.regionLocks.forgetWrites(cleared)
                return cleared
            }
            return self.bitmap.sync(on: eventLoop).map { cleared.count }.flatMapError { error in
                self.notice("write-intent bitmap not cleared: \(error)")
                return eventLoop.makeSucceededFuture(0)
            }
        }.always { _ in
            if self.bitmap.dirtyCount > 0 { self.scheduleClean(on: eventLoop) }
        }
    }
}
