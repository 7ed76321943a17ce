import NIOCore

/// Bringing stale members back: starting resyncs (`ResyncJob` does the copying), replacing
/// a failed member, and the member state changes a running resync reports.
extension RAID1Device {
    /// Copies the dirty regions (every region after `replaceMember` or for a new member)
    /// from a healthy member (`healthy`, else the first healthy one) onto `member`, in the
    /// background on `eventLoop`, while I/O goes on; then marks it healthy. A healthy member
    /// needs nothing. Fails when the member or every source fails meanwhile (the member is
    /// then failed) or the mirror is closed.
    public func resync(from healthy: Int? = nil, to member: Int, on eventLoop: EventLoop) -> EventLoopFuture<ResyncResult> {
        let started: Result<(job: ResyncJob, records: [MirrorHealthFile.Record], source: String)?, StorageError> = lock.withLock {
            guard !closed else { return .failure(.closed(device: name)) }
            guard memberSet.indices.contains(member) else { return .failure(.combination(name: name, problem: "no member \(member)")) }
            if memberSet[member].state == .healthy { return .success(nil) }
            guard !memberSet[member].resyncRunning else {
                return .failure(.combination(name: name, problem: "member \(memberSet[member].name) is already being resynced"))
            }
            let source: Int
            if let healthy {
                guard memberSet.indices.contains(healthy), healthy != member, memberSet[healthy].state == .healthy else {
                    return .failure(.combination(name: name, problem: "resync source \(healthy) is not a healthy member"))
                }
                source = healthy
            } else {
                guard let first = memberSet.firstHealthy else { return .failure(.noHealthyMember(device: name, operation: "resync")) }
                source = first
            }
            // Snapshot the dirty regions now: everything written from here on also reaches the
            // member (it is `resyncing`), and no bit is cleared until it is healthy.
            let regions = bitmap.dirtyRegions
            memberSet.beginResync(member, from: source, regions: regions.count)
            let job = ResyncJob(mirror: self, member: member, device: memberSet[member].device, memberName: memberSet[member].name,
                                source: source, regions: regions, loop: eventLoop)
            return .success((job, memberSet.records, memberSet[source].name))
        }
        switch started {
        case let .failure(error):
            return eventLoop.makeFailedFuture(error)
        case .success(nil):
            let name = lock.withLock { memberSet[member].name }
            return eventLoop.makeSucceededFuture(ResyncResult(member: name, source: "", regions: 0, bytes: 0))
        case let .success(started?):
            notice("resync of \(started.job.memberName) from \(started.source) started: \(started.job.regions.count) dirty regions")
            return saveHealth(started.records, on: eventLoop).flatMap { started.job.run() }
        }
    }

    /// Resyncs, one after the other, every member waiting for a resync (stale at start, or
    /// replaced); call once the target runs (after the privilege drop). Failures are logged
    /// and leave that member failed; the future lists the resyncs that finished.
    public func resyncStale(on eventLoop: EventLoop) -> EventLoopFuture<[ResyncResult]> {
        let waiting = lock.withLock {
            memberSet.indices.filter { memberSet[$0].state == .resyncing && !memberSet[$0].resyncRunning }
        }
        var chain = eventLoop.makeSucceededFuture([ResyncResult]())
        for index in waiting {
            chain = chain.flatMap { done in
                self.resync(to: index, on: eventLoop).map { done + [$0] }.flatMapError { error in
                    self.notice("resync of member \(index) failed: \(error)")
                    return eventLoop.makeSucceededFuture(done)
                }
            }
        }
        return chain
    }

    /// Puts a new device in place of a failed member (same slot, the new device's name in
    /// the health file): every region is marked dirty (and synced) first, then the device
    /// joins as `resyncing`. Returns the old device, idle, for the caller to close off the
    /// event loop (closing may wait for its I/O thread). Follow with `resync(to:)` or
    /// `resyncStale`.
    @discardableResult
    public func replaceMember(_ index: Int, with device: BlockDevice, on eventLoop: EventLoop) -> EventLoopFuture<BlockDevice> {
        let problem: String? = lock.withLock {
            if closed { return "closed" }
            guard memberSet.indices.contains(index), !memberSet[index].removed else { return "no member \(index)" }
            guard memberSet[index].state == .failed, !memberSet[index].resyncRunning else {
                return "member \(memberSet[index].name) is \(memberSet[index].state.rawValue), only a failed member can be replaced"
            }
            guard memberSet[index].inFlight == 0 else {
                return "failed member \(memberSet[index].name) still has requests in flight; try again"
            }
            guard device.size >= size else { return "replacement \(device.name) has \(device.size) bytes, the mirror needs \(size)" }
            return nil
        }
        if let problem { return eventLoop.makeFailedFuture(StorageError.combination(name: name, problem: problem)) }
        return bitmap.markAllDirty(on: eventLoop).flatMap {
            let swapped: (old: BlockDevice, records: [MirrorHealthFile.Record])? = self.lock.withLock {
                guard !self.closed, self.memberSet[index].state == .failed else { return nil }
                let old = self.memberSet.replace(index, with: device)
                return (old, self.memberSet.records)
            }
            guard let swapped else {
                return eventLoop.makeFailedFuture(StorageError.combination(name: self.name, problem: "member \(index) changed during replacement"))
            }
            return self.saveHealth(swapped.records, on: eventLoop).map { swapped.old }
        }
    }

    /// Adds `device` as a further member (a reload grew the mirror): it joins as `resyncing`
    /// first, so that from then on it gets every write and the bitmap cleaner (which needs
    /// every member healthy) leaves the bits alone; then every region is marked dirty, so the
    /// resync that follows (`resyncStale`) copies all of it.
    public func addMember(_ device: BlockDevice, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let problem: String? = lock.withLock {
            if closed { return "closed" }
            guard device.size >= size else { return "new member \(device.name) has \(device.size) bytes, the mirror needs \(size)" }
            guard !memberSet.allDevices.contains(where: { $0 === device }), memberSet.index(named: device.name) == nil else {
                return "\(device.name) is already a member"
            }
            var grown = memberSet
            grown.append(device)
            guard MirrorHealthFile.fits(grown.records) else { return "the health file has no room for another member" }
            memberSet = grown
            return nil
        }
        if let problem { return eventLoop.makeFailedFuture(StorageError.combination(name: name, problem: problem)) }
        return bitmap.markAllDirty(on: eventLoop).flatMap {
            let records = self.lock.withLock { self.memberSet.records }
            return self.saveHealth(records, on: eventLoop)
        }.flatMapError { error in
            // Without every bit set on disk nothing says the new member is blank: it leaves
            // the mirror (failed) rather than ever count as a copy.
            let index: Int? = self.lock.withLock { self.memberSet.indices.last { self.memberSet[$0].device === device } }
            let failed = index.map { self.failMember($0, reason: "not added: \(error)", on: eventLoop) }
                ?? eventLoop.makeSucceededVoidFuture()
            return failed.flatMapThrowing { throw error }
        }
    }

    /// The member named `name` now (removed members never match).
    public func memberIndex(named name: String) -> Int? {
        lock.withLock { memberSet.index(named: name) }
    }

    /// Takes the member named `name` out of the mirror (a reload removed it from `members`):
    /// no request goes to it from now on, a resync to it stops, and the health file forgets
    /// it. Returns its device, for the caller to close once `isIdle` says its last request
    /// finished; fails when no healthy member would be left.
    public func removeMember(named name: String, on eventLoop: EventLoop) -> EventLoopFuture<BlockDevice> {
        let outcome: Result<(BlockDevice, [MirrorHealthFile.Record]), StorageError> = lock.withLock {
            if closed { return .failure(.combination(name: self.name, problem: "closed")) }
            guard let index = memberSet.index(named: name) else {
                return .failure(.combination(name: self.name, problem: "no member \(name)"))
            }
            guard memberSet.remove(index) else {
                return .failure(.combination(name: self.name, problem: "removing \(name) would leave no healthy member"))
            }
            return .success((memberSet[index].device, memberSet.records))
        }
        switch outcome {
        case let .failure(error): return eventLoop.makeFailedFuture(error)
        case let .success((device, records)):
            notice("member \(name) removed")
            return saveHealth(records, on: eventLoop).map { device }
        }
    }

    /// Whether no request is in flight to `device` (a removed member, before closing it).
    public func isIdle(_ device: BlockDevice) -> Bool {
        // A resync's copy writes are not counted in flight: a running resync to the member
        // must have noticed the removal and stopped too.
        lock.withLock {
            memberSet.indices.allSatisfy {
                !memberSet.holds(device, at: $0) || (memberSet[$0].inFlight == 0 && !memberSet[$0].resyncRunning)
            }
        }
    }

    // MARK: what a running resync reports

    /// Why the resync of `device` at `member` cannot go on, if it cannot.
    func resyncStopReason(_ member: Int, device: BlockDevice, memberName: String) -> StorageError? {
        lock.withLock {
            if closed { return .closed(device: name) }
            if !memberSet.holds(device, at: member) || memberSet[member].state != .resyncing {
                return .combination(name: name, problem: "member \(memberName) failed during its resync")
            }
            return nil
        }
    }

    func claimResyncSource(preferred: Int, for member: Int, excluding tried: [Int]) -> (index: Int, device: BlockDevice)? {
        lock.withLock { memberSet.claimResyncSource(preferred: preferred, for: member, excluding: tried) }
    }

    func resyncProgressed(_ member: Int, device: BlockDevice, done: Int) {
        lock.withLock { memberSet.resyncProgressed(member, device: device, done: done) }
    }

    /// The member is healthy again; returns the health records to save, nil when the mirror
    /// closed or the member failed or was replaced meanwhile.
    func resyncFinished(_ member: Int, device: BlockDevice) -> [MirrorHealthFile.Record]? {
        lock.withLock {
            guard !closed, memberSet.resyncFinished(member, device: device) else { return nil }
            return memberSet.records
        }
    }

    /// The resync stopped: the member is failed (no source left, it cannot be trusted);
    /// returns the health records to save, nil when nothing changed.
    func resyncAborted(_ member: Int, device: BlockDevice, error: Error) -> [MirrorHealthFile.Record]? {
        lock.withLock {
            guard memberSet.resyncStopped(member, device: device, reason: "resync stopped: \(error)", fail: !closed) else { return nil }
            return memberSet.records
        }
    }
}
