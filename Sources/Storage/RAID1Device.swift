import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// RAID1: a mirror. Every member holds the whole LU plainly from its offset 0 (no metadata
/// on the members; a member stays a readable copy of the LU). What the mirror must remember,
/// the write-intent bitmap and which member is stale, lives in the files `MirrorHealth`
/// names, beside the config.
///
/// - Size: the smallest member's. Members should be equal; bigger ones are used up to that
///   size only, the rest of them is left alone.
/// - Writes go to every member that is healthy or being resynced and complete when all of
///   them have. A member that fails a write is marked failed; the write still succeeds when
///   at least one healthy member stored it, else it fails with the last member error.
///   Before the first write into a clean region is issued, the region's bit is set in the
///   write-intent bitmap and the bitmap file is synced.
/// - Reads go to one healthy member: the one with the fewest requests in flight, ties broken
///   by locality (the member whose last read ended nearest to this offset, so a sequential
///   stream stays on one disk and its read-ahead), then by member order. A member that fails
///   a read or returns a short one is marked failed and the read is retried on another
///   healthy member; the initiator sees an error only when no healthy member is left
///   (`StorageError.noHealthyMember`, or the last member error).
/// - A failure is reported through `onMemberFailure`, recorded in the health file, and shown
///   by `memberStates`. A failed member stays out until `resync(to:)` (after it came back)
///   or `replaceMember` and a resync.
/// - Resync runs in the background on an event loop, one region at a time, while I/O goes
///   on: writes also go to the member being resynced, a region being copied is locked (the
///   copy waits for writes in flight there, new writes there wait for the copy), and only
///   the regions whose bits are set are copied. Bits are cleared (after a flush of every
///   member) only when all members are healthy, so they cover everything a failed member
///   missed, and everything an unclean shutdown may have left different.
/// - On start with `health`: members the health file lists as failed or resyncing, members
///   it does not know (new or replaced: every region is marked dirty), and, after an unclean
///   shutdown (bits still set), every healthy member but the first, are marked `resyncing`
///   and not read; `resyncStale(on:)` copies onto them. A mirror with no health file yet
///   starts with `MirrorHealth.initialSync`. Without `health` the members are assumed to be
///   identical at start and the bitmap lives in memory.
///
/// The combination owns its members: `close()` closes them. Closing with every member
/// healthy flushes the members and clears the bitmap, so a clean restart resyncs nothing.
public final class RAID1Device: BlockDevice, DeviceStatusReporting, @unchecked Sendable {
    public struct ResyncResult: Sendable, Equatable {
        public var member: String
        public var source: String
        public var regions: Int
        public var bytes: UInt64
    }

    public let name: String
    public let size: UInt64
    public let hasVolatileCache: Bool
    public let bitmap: WriteIntentBitmap
    public let health: MirrorHealth?
    /// How long after a write the bitmap cleaner runs (when every member is healthy).
    public let cleanDelay: TimeAmount
    /// Largest single copy of a resync (a bigger region is copied in pieces of this size).
    static let copyPiece = 1 << 20

    private let healthFile: MirrorHealthFile?
    let lock = NIOLock()
    // Everything below is guarded by `lock`: one lock for the members and the region locks,
    // so the bitmap cleaner sees both in one state. Internal, not private, for the resync
    // and bitmap cleaning code beside this file.
    var memberSet: MirrorMemberSet
    var regionLocks = MirrorRegionLocks()
    var closed = false
    var cleanScheduled = false
    private var failureHook: (@Sendable (String, Error) -> Void)?
    private var noticeHook: (@Sendable (String) -> Void)?
    /// Set once init succeeded: from then on `close()` closes the members too (before, they
    /// still belong to the caller).
    private var ownsMembers = false

    /// Builds the mirror; with `health`, opens (creating when missing) its bitmap and health
    /// files through `opener` and works out which members are stale (see the type's comment).
    /// `regionSize` applies to the in-memory bitmap when `health` is nil (else `health.regionSize`).
    public init(name: String, members: [BlockDevice], health: MirrorHealth? = nil,
                regionSize: UInt64 = WriteIntentBitmap.defaultRegionSize, cleanDelay: TimeAmount = .seconds(5),
                opener: FileOpener = DirectFileOpener(),
                onMemberFailure: (@Sendable (String, Error) -> Void)? = nil,
                onNotice: (@Sendable (String) -> Void)? = nil) throws(StorageError) {
        guard !members.isEmpty else { throw .combination(name: name, problem: "raid 1 needs at least one member") }
        var seen = Set<String>()
        for m in members {
            guard seen.insert(m.name).inserted else { throw .combination(name: name, problem: "member \(m.name) appears twice") }
            guard !m.name.isEmpty, !m.name.contains(where: \.isWhitespace) else {
                throw .combination(name: name, problem: "member name '\(m.name)' is empty or has blanks")
            }
        }
        let size = members.map(\.size).min()!
        guard size > 0 else { throw .combination(name: name, problem: "a member has no bytes") }
        self.name = name
        self.size = size
        self.health = health
        self.cleanDelay = cleanDelay
        self.hasVolatileCache = members.contains { $0.hasVolatileCache }
        self.failureHook = onMemberFailure
        self.noticeHook = onNotice
        self.memberSet = MirrorMemberSet(devices: members)
        guard let health else {
            self.bitmap = try WriteIntentBitmap(path: nil, deviceSize: size, regionSize: regionSize)
            self.healthFile = nil
            self.ownsMembers = true
            return
        }
        guard MirrorHealthFile.fits(members.map { MirrorHealthFile.Record(name: $0.name, state: .healthy, order: 0, reason: "") }) else {
            throw .combination(name: name, problem: "too many members for the health file")
        }
        let bitmap = try WriteIntentBitmap(path: health.bitmapPath, deviceSize: size, regionSize: health.regionSize, opener: opener)
        let file: MirrorHealthFile
        do {
            file = try MirrorHealthFile(path: health.healthPath, opener: opener)
        } catch {
            bitmap.close()
            throw error
        }
        self.bitmap = bitmap
        self.healthFile = file
        do {
            try assemble(file.loaded, bitmap: bitmap, initialSync: health.initialSync)
        } catch {
            close()  // the state files only: the members are still the caller's
            throw error
        }
        ownsMembers = true
    }

    deinit { close() }

    /// Works out the members' states at start (init only: no other thread sees `self` yet).
    private func assemble(_ records: [MirrorHealthFile.Record]?, bitmap: WriteIntentBitmap,
                          initialSync: MirrorHealth.InitialSync) throws(StorageError) {
        var notices: [String] = []
        if case let .reset(reason) = bitmap.origin {
            notices.append("write-intent bitmap reset (\(reason)): every region is dirty")
        }
        let missingBitmap = records != nil && bitmap.origin == .created ? bitmap.path ?? "" : nil
        let found = memberSet.restore(from: records, initialSync: initialSync, missingBitmap: missingBitmap)
        notices += found.notices
        if found.copyAll { try bitmap.markAllDirtyNow() }
        memberSet.distrustAfterUncleanShutdown(dirty: bitmap.dirtyCount)
        notices += memberSet.staleNotices
        try healthFile?.saveNow(memberSet.records)
        for n in notices { noticeHook?("combination \(name): \(n)") }
    }

    // MARK: hooks and status

    /// Called (outside any lock) when a member is marked failed: member name and the error.
    public var onMemberFailure: (@Sendable (String, Error) -> Void)? {
        get { lock.withLock { failureHook } }
        set { lock.withLock { failureHook = newValue } }
    }

    /// Called with a line for the log on state changes: resync start and end, stale members
    /// at start, state file write errors.
    public var onNotice: (@Sendable (String) -> Void)? {
        get { lock.withLock { noticeHook } }
        set { lock.withLock { noticeHook = newValue } }
    }

    /// The members as `targe status` shows them, in config order.
    public var memberStates: [MemberStatus] { lock.withLock { memberSet.statuses } }

    /// The member devices, in config order.
    public var members: [BlockDevice] { lock.withLock { memberSet.devices } }

    /// "raid1", with each member's device and state from one look at the members.
    public var status: DeviceStatus {
        lock.withLock {
            DeviceStatus(kind: "raid1", members: zip(memberSet.devices, memberSet.statuses).map {
                DeviceStatus.Member(device: $0, health: $1)
            })
        }
    }

    func notice(_ text: String) {
        let hook = lock.withLock { noticeHook }
        hook?("combination \(name): \(text)")
    }

    /// Saves the health file; its errors are logged, not returned (the data path goes on).
    func saveHealth(_ records: [MirrorHealthFile.Record], on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        guard let healthFile else { return eventLoop.makeSucceededVoidFuture() }
        return healthFile.save(records, on: eventLoop).flatMapError { error in
            self.notice("cannot record member health: \(error)")
            return eventLoop.makeSucceededVoidFuture()
        }
    }

    /// Marks a member failed (unless the mirror is closed, the member was replaced since, or
    /// it already is); returns the health file save to wait for, nil when nothing changed.
    func memberFailed(_ index: Int, device: BlockDevice, error: Error, on eventLoop: EventLoop) -> EventLoopFuture<Void>? {
        lock.lock()
        guard !closed, memberSet.markFailed(index, device: device, reason: "\(error)") else {
            lock.unlock()
            return nil
        }
        let records = memberSet.records
        let hook = failureHook
        let member = memberSet[index].name
        lock.unlock()
        hook?(member, error)
        return saveHealth(records, on: eventLoop)
    }

    /// Takes a member out of the mirror by request (an admin command, a test).
    @discardableResult
    public func failMember(_ index: Int, reason: String, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let device = lock.withLock { memberSet[index].device }
        let error = StorageError.combination(name: name, problem: "member \(device.name) failed by request: \(reason)")
        return memberFailed(index, device: device, error: error, on: eventLoop) ?? eventLoop.makeSucceededVoidFuture()
    }

    func requestDone(_ index: Int, device: BlockDevice) {
        lock.withLock { memberSet.requestDone(index, device: device) }
    }

    private func check(_ offset: UInt64, _ length: Int) -> StorageError? {
        if lock.withLock({ closed }) { return .closed(device: name) }
        if offset > size || UInt64(length) > size - offset {
            return .outOfRange(device: name, offset: offset, length: length, size: size)
        }
        return nil
    }

    // MARK: reads

    public func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        guard length > 0 else { return eventLoop.makeSucceededFuture(ByteBuffer()) }
        return readAttempt(offset: offset, length: length, tried: [], lastError: nil, on: eventLoop)
    }

    /// Reads from the member the balancer picks; a member that fails or returns a short read
    /// is failed and the read moves on to the next healthy member.
    private func readAttempt(offset: UInt64, length: Int, tried: [Int], lastError: Error?, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        let picked = lock.withLock { memberSet.claimReader(offset: offset, length: length, excluding: tried) }
        guard let (index, device) = picked else {
            return eventLoop.makeFailedFuture(lastError ?? StorageError.noHealthyMember(device: name, operation: "read"))
        }
        return device.readExactly(offset: offset, length: length, on: eventLoop).always { _ in
            self.requestDone(index, device: device)
        }.flatMapError { error in
            if self.lock.withLock({ self.closed }) { return eventLoop.makeFailedFuture(error) }
            _ = self.memberFailed(index, device: device, error: error, on: eventLoop)
            return self.readAttempt(offset: offset, length: length, tried: tried + [index], lastError: error, on: eventLoop)
        }
    }

    // MARK: writes

    public func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let length = buffers.reduce(0) { $0 + $1.readableBytes }
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        guard length > 0 else { return eventLoop.makeSucceededVoidFuture() }
        let regions = bitmap.regions(offset: offset, length: length)
        return acquireWrite(regions, on: eventLoop).flatMap {
            self.bitmap.markDirty(regions, on: eventLoop).flatMapError { error in
                // The config partition failed: keep the LU available, say so.
                self.notice("write-intent bitmap not updated: \(error)")
                return eventLoop.makeSucceededVoidFuture()
            }.flatMap {
                self.mirrorWrite(offset: offset, buffers: buffers, forceUnitAccess: forceUnitAccess, on: eventLoop)
            }.always { _ in
                self.releaseWrite(regions, on: eventLoop)
            }
        }
    }

    /// Issues the write to every member that is not failed and collects the outcome.
    private func mirrorWrite(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let targets = lock.withLock { memberSet.claimWritable() }
        guard !targets.isEmpty else {
            return eventLoop.makeFailedFuture(StorageError.noHealthyMember(device: name, operation: "write"))
        }
        let futures = targets.map { $0.device.write(offset: offset, buffers: buffers, forceUnitAccess: forceUnitAccess, on: eventLoop) }
        return settle(targets, futures, operation: "write", on: eventLoop)
    }

    /// Marks the members whose request failed, waits for the health file, and succeeds when
    /// a member that was healthy when the request was issued succeeded.
    private func settle(_ targets: [MirrorMemberSet.Target], _ futures: [EventLoopFuture<Void>],
                        operation: String, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        EventLoopFuture.whenAllComplete(futures, on: eventLoop).flatMap { results in
            var stored = false
            var lastError: Error?
            var saves: [EventLoopFuture<Void>] = []
            let isClosed = self.lock.withLock { self.closed }
            for (target, result) in zip(targets, results) {
                self.requestDone(target.index, device: target.device)
                switch result {
                case .success:
                    if target.healthy { stored = true }
                case let .failure(error):
                    lastError = error
                    if !isClosed, let save = self.memberFailed(target.index, device: target.device, error: error, on: eventLoop) {
                        saves.append(save)
                    }
                }
            }
            // The health file must name the failed member before a degraded write is acknowledged.
            let outcome: Error? = stored ? nil : lastError ?? StorageError.noHealthyMember(device: self.name, operation: operation)
            return EventLoopFuture.andAllComplete(saves, on: eventLoop).flatMapThrowing {
                if let outcome { throw outcome }
            }
        }
    }

    public func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if let error = check(0, 0) { return eventLoop.makeFailedFuture(error) }
        let targets = lock.withLock { memberSet.claimWritable() }
        guard !targets.isEmpty else {
            return eventLoop.makeFailedFuture(StorageError.noHealthyMember(device: name, operation: "flush"))
        }
        return settle(targets, targets.map { $0.device.flush(on: eventLoop) }, operation: "flush", on: eventLoop)
    }

    // MARK: region locks (see `MirrorRegionLocks`)

    private func acquireWrite(_ regions: Range<Int>, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        lock.withLock {
            if closed { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
            return regionLocks.acquireWrite(regions, on: eventLoop)
        }
    }

    private func releaseWrite(_ regions: Range<Int>, on eventLoop: EventLoop) {
        let granted = lock.withLock { regionLocks.releaseWrite(regions) }
        for p in granted { p.succeed() }
        scheduleClean(on: eventLoop)
    }

    func acquireCopy(_ region: Int, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        lock.withLock {
            if closed { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
            return regionLocks.acquireCopy(region, on: eventLoop)
        }
    }

    func releaseCopy(_ region: Int) {
        let granted = lock.withLock { regionLocks.releaseCopy(region) }
        for p in granted { p.succeed() }
    }

    // MARK: close

    public func close() {
        let state: (devices: [BlockDevice], all: [BlockDevice], clean: Bool, pending: [EventLoopPromise<Void>])? = lock.withLock {
            guard !closed else { return nil }
            let clean = ownsMembers && memberSet.allHealthy && regionLocks.isIdle
            closed = true
            return (memberSet.devices, memberSet.allDevices, clean, regionLocks.cancelWaiting())
        }
        guard let state else { return }
        for p in state.pending { p.fail(StorageError.closed(device: name)) }
        // A clean stop: flush the members, then clear the bitmap, so a restart copies
        // nothing. (Not possible from an event loop thread, where waiting is forbidden.)
        if state.clean, healthFile != nil, bitmap.dirtyCount > 0, MultiThreadedEventLoopGroup.currentEventLoop == nil {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let loop = group.next()
            let flushed = EventLoopFuture.andAllSucceed(state.devices.map { $0.flush(on: loop) }, on: loop)
            if (try? flushed.wait()) != nil {
                bitmap.clear(bitmap.dirtyRegions)
            }
            try? group.syncShutdownGracefully()
        }
        bitmap.close()
        // A mirror that never finished init leaves the health file as it found it.
        healthFile?.close(saving: lock.withLock { ownsMembers ? memberSet.records : nil })
        if lock.withLock({ ownsMembers }) {
            for device in state.all { device.close() }  // removed members too (closing twice is harmless)
        }
    }
}
