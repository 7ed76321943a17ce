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
public final class RAID1Device: BlockDevice, @unchecked Sendable {
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

    private struct Slot {
        var device: BlockDevice
        var name: String
        var state: MemberStatus.State
        var reason: String
        var order: UInt64 = 0
        var inFlight = 0
        var lastReadEnd: UInt64 = 0
        var resyncRunning = false
        var resyncDone = 0
        var resyncTotal = 0
    }

    private struct PendingWrite {
        var regions: Range<Int>
        var promise: EventLoopPromise<Void>
    }

    private struct PendingCopy {
        var region: Int
        var promise: EventLoopPromise<Void>
    }

    private let healthFile: MirrorHealthFile?
    private let lock = NIOLock()
    // Everything below is guarded by `lock`.
    private var slots: [Slot]
    private var closed = false
    /// Writes in flight per region (no entry = none).
    private var writers: [Int: Int] = [:]
    /// Sequence number of the last write granted per dirty region.
    private var lastWrite: [Int: UInt64] = [:]
    private var writeSequence: UInt64 = 1
    /// Regions a resync is copying; writes there wait.
    private var copying: Set<Int> = []
    private var pendingCopies: [PendingCopy] = []
    private var pendingWrites: [PendingWrite] = []
    private var cleanScheduled = false
    private var failures: UInt64 = 0
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
        self.slots = members.map { Slot(device: $0, name: $0.name, state: .healthy, reason: "") }
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
        var copyAll = false
        if case let .reset(reason) = bitmap.origin {
            notices.append("write-intent bitmap reset (\(reason)): every region is dirty")
        }
        if let records {
            failures = records.map(\.order).max() ?? 0
            let byName = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for i in slots.indices {
                guard let record = byName[slots[i].name] else {
                    slots[i].state = .resyncing
                    slots[i].reason = "new member: full copy pending"
                    copyAll = true
                    continue
                }
                if record.state != .healthy {
                    slots[i].state = .resyncing
                    slots[i].order = record.order
                    slots[i].reason = "stale (\(record.state.rawValue) before restart: \(record.reason))"
                }
            }
            if !slots.contains(where: { $0.state == .healthy }) {
                // Every member had failed: the one that failed last has the newest data.
                let known = slots.indices.filter { byName[slots[$0].name] != nil }
                let newest = known.max { slots[$0].order < slots[$1].order } ?? 0
                slots[newest].state = .healthy
                slots[newest].reason = ""
                notices.append("every member was failed; serving from \(slots[newest].name), which failed last")
            }
            if bitmap.origin == .created {
                notices.append("write-intent bitmap \(bitmap.path ?? "") was missing: every region is dirty")
                copyAll = true
            }
        } else if initialSync == .copyFirstMember && slots.count > 1 {
            for i in slots.indices.dropFirst() {
                slots[i].state = .resyncing
                slots[i].reason = "initial copy from \(slots[0].name) pending"
            }
            copyAll = true
            notices.append("new mirror: \(slots[0].name) will be copied onto the other members")
        }
        if copyAll { try bitmap.markAllDirtyNow() }
        let dirty = bitmap.dirtyCount
        if dirty > 0 {
            // After an unclean shutdown only one healthy member may be trusted per region.
            let healthy = slots.indices.filter { slots[$0].state == .healthy }
            for i in healthy.dropFirst() {
                slots[i].state = .resyncing
                slots[i].reason = "unclean shutdown: \(dirty) dirty regions to copy from \(slots[healthy[0]].name)"
            }
        }
        for slot in slots where slot.state != .healthy {
            notices.append("member \(slot.name): \(slot.reason)")
        }
        try healthFile?.saveNow(recordsLocked())
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
    public var memberStates: [MemberStatus] {
        lock.withLock {
            slots.map { s in
                let progress: Double
                switch s.state {
                case .healthy: progress = 1
                case .failed: progress = 0
                case .resyncing: progress = s.resyncTotal > 0 ? Double(s.resyncDone) / Double(s.resyncTotal) : 0
                }
                return MemberStatus(name: s.name, state: s.state, reason: s.reason, resyncProgress: progress)
            }
        }
    }

    /// The member devices, in config order.
    public var members: [BlockDevice] { lock.withLock { slots.map(\.device) } }

    public func memberIndex(named name: String) -> Int? {
        lock.withLock { slots.firstIndex { $0.name == name } }
    }

    private func notice(_ text: String) {
        let hook = lock.withLock { noticeHook }
        hook?("combination \(name): \(text)")
    }

    private func recordsLocked() -> [MirrorHealthFile.Record] {
        slots.map { MirrorHealthFile.Record(name: $0.name, state: $0.state, order: $0.order, reason: $0.reason) }
    }

    /// Saves the health file; its errors are logged, not returned (the data path goes on).
    private func saveHealth(_ records: [MirrorHealthFile.Record], on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        guard let healthFile else { return eventLoop.makeSucceededVoidFuture() }
        return healthFile.save(records, on: eventLoop).flatMapError { error in
            self.notice("cannot record member health: \(error)")
            return eventLoop.makeSucceededVoidFuture()
        }
    }

    /// Marks a member failed (unless the mirror is closed, the member was replaced since, or
    /// it already is); returns the health file save to wait for, nil when nothing changed.
    private func memberFailed(_ index: Int, device: BlockDevice, error: Error, on eventLoop: EventLoop) -> EventLoopFuture<Void>? {
        lock.lock()
        guard !closed, slots[index].device === device, slots[index].state != .failed else {
            lock.unlock()
            return nil
        }
        failures += 1
        slots[index].state = .failed
        slots[index].order = failures
        slots[index].reason = "\(error)"
        let records = recordsLocked()
        let hook = failureHook
        let member = slots[index].name
        lock.unlock()
        hook?(member, error)
        return saveHealth(records, on: eventLoop)
    }

    /// Takes a member out of the mirror by request (an admin command, a test).
    @discardableResult
    public func failMember(_ index: Int, reason: String, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let device = lock.withLock { slots[index].device }
        let error = StorageError.combination(name: name, problem: "member \(device.name) failed by request: \(reason)")
        return memberFailed(index, device: device, error: error, on: eventLoop) ?? eventLoop.makeSucceededVoidFuture()
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

    /// Picks the healthy member to read from (fewest in flight, then nearest, then first).
    private func pickReader(offset: UInt64, length: Int, excluding tried: [Int]) -> (Int, BlockDevice)? {
        lock.withLock {
            var best: Int?
            var bestDistance: UInt64 = 0
            for i in slots.indices where slots[i].state == .healthy && !tried.contains(i) {
                let end = slots[i].lastReadEnd
                let distance = end > offset ? end - offset : offset - end
                if let b = best {
                    if slots[i].inFlight > slots[b].inFlight { continue }
                    if slots[i].inFlight == slots[b].inFlight && distance >= bestDistance { continue }
                }
                best = i
                bestDistance = distance
            }
            guard let b = best else { return nil }
            slots[b].inFlight += 1
            slots[b].lastReadEnd = offset + UInt64(length)
            return (b, slots[b].device)
        }
    }

    private func requestDone(_ index: Int, device: BlockDevice) {
        lock.withLock {
            if slots[index].device === device { slots[index].inFlight -= 1 }
        }
    }

    private func readAttempt(offset: UInt64, length: Int, tried: [Int], lastError: Error?, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        guard let (index, device) = pickReader(offset: offset, length: length, excluding: tried) else {
            return eventLoop.makeFailedFuture(lastError ?? StorageError.noHealthyMember(device: name, operation: "read"))
        }
        return device.read(offset: offset, length: length, on: eventLoop).flatMapThrowing { buffer in
            guard buffer.readableBytes == length else {
                throw StorageError.shortTransfer(device: device.name, operation: "read", offset: offset,
                                                 expected: length, transferred: buffer.readableBytes)
            }
            return buffer
        }.always { _ in
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
        let targets = claimWritableMembers()
        guard !targets.isEmpty else {
            return eventLoop.makeFailedFuture(StorageError.noHealthyMember(device: name, operation: "write"))
        }
        let futures = targets.map { $0.device.write(offset: offset, buffers: buffers, forceUnitAccess: forceUnitAccess, on: eventLoop) }
        return settle(targets, futures, operation: "write", on: eventLoop)
    }

    /// Every member that is not failed (healthy ones and those being resynced, which must
    /// get every write), each counted in flight; none at all unless one is healthy, since
    /// a write that only reached a stale member could not be read back.
    private func claimWritableMembers() -> [(index: Int, device: BlockDevice, healthy: Bool)] {
        lock.withLock {
            guard slots.contains(where: { $0.state == .healthy }) else { return [] }
            var out: [(index: Int, device: BlockDevice, healthy: Bool)] = []
            for i in slots.indices where slots[i].state != .failed {
                slots[i].inFlight += 1
                out.append((i, slots[i].device, slots[i].state == .healthy))
            }
            return out
        }
    }

    /// Marks the members whose request failed, waits for the health file, and succeeds when
    /// a member that was healthy when the request was issued succeeded.
    private func settle(_ targets: [(index: Int, device: BlockDevice, healthy: Bool)], _ futures: [EventLoopFuture<Void>],
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
        let targets = claimWritableMembers()
        guard !targets.isEmpty else {
            return eventLoop.makeFailedFuture(StorageError.noHealthyMember(device: name, operation: "flush"))
        }
        return settle(targets, targets.map { $0.device.flush(on: eventLoop) }, operation: "flush", on: eventLoop)
    }

    // MARK: region locks (writes shared, resync copies exclusive)

    private func conflictsLocked(_ regions: Range<Int>) -> Bool {
        if copying.isEmpty && pendingCopies.isEmpty { return false }
        return regions.contains { copying.contains($0) } || pendingCopies.contains { regions.contains($0.region) }
    }

    private func grantWriteLocked(_ regions: Range<Int>) {
        for r in regions {
            writers[r, default: 0] += 1
            lastWrite[r] = writeSequence
        }
        writeSequence += 1
    }

    private func acquireWrite(_ regions: Range<Int>, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        lock.lock()
        defer { lock.unlock() }
        if closed { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
        if conflictsLocked(regions) {
            let promise = eventLoop.makePromise(of: Void.self)
            pendingWrites.append(PendingWrite(regions: regions, promise: promise))
            return promise.futureResult
        }
        grantWriteLocked(regions)
        return eventLoop.makeSucceededVoidFuture()
    }

    private func releaseWrite(_ regions: Range<Int>, on eventLoop: EventLoop) {
        let granted: [EventLoopPromise<Void>] = lock.withLock {
            for r in regions {
                let n = writers[r, default: 1] - 1
                writers[r] = n == 0 ? nil : n
            }
            return grantCopiesLocked()
        }
        for p in granted { p.succeed() }
        scheduleClean(on: eventLoop)
    }

    /// Starts the copies whose region has no write in flight any more.
    private func grantCopiesLocked() -> [EventLoopPromise<Void>] {
        guard !pendingCopies.isEmpty else { return [] }
        var granted: [EventLoopPromise<Void>] = []
        pendingCopies.removeAll { c in
            guard writers[c.region] == nil, !copying.contains(c.region) else { return false }
            copying.insert(c.region)
            granted.append(c.promise)
            return true
        }
        return granted
    }

    private func acquireCopy(_ region: Int, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        lock.lock()
        defer { lock.unlock() }
        if closed { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
        if writers[region] != nil || copying.contains(region) {
            let promise = eventLoop.makePromise(of: Void.self)
            pendingCopies.append(PendingCopy(region: region, promise: promise))
            return promise.futureResult
        }
        copying.insert(region)
        return eventLoop.makeSucceededVoidFuture()
    }

    private func releaseCopy(_ region: Int) {
        let granted: [EventLoopPromise<Void>] = lock.withLock {
            copying.remove(region)
            var granted = grantCopiesLocked()
            var waiting: [PendingWrite] = []
            for w in pendingWrites {
                if conflictsLocked(w.regions) {
                    waiting.append(w)
                } else {
                    grantWriteLocked(w.regions)
                    granted.append(w.promise)
                }
            }
            pendingWrites = waiting
            return granted
        }
        for p in granted { p.succeed() }
    }

    // MARK: bitmap cleaning

    private func allHealthyLocked() -> Bool {
        !closed && slots.allSatisfy { $0.state == .healthy }
    }

    /// Arms the cleaner when every member is healthy and some bit is set.
    private func scheduleClean(on eventLoop: EventLoop) {
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
            let candidates = bitmap.dirtyRegions.filter { writers[$0] == nil }
            return (writeSequence, candidates, slots.indices.map { ($0, slots[$0].device) })
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
                let cleared = snapshot.candidates.filter {
                    self.writers[$0] == nil && self.lastWrite[$0, default: 0] < snapshot.sequence
                }
                // Under the mirror's lock: a write granted after this sees the bit clear and
                // sets it (and waits for it to be on disk) again.
                self.bitmap.clear(cleared)
                for r in cleared { self.lastWrite[r] = nil }
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

    // MARK: resync

    /// Copies the dirty regions (every region after `replaceMember` or for a new member)
    /// from a healthy member (`healthy`, else the first healthy one) onto `member`, in the
    /// background on `eventLoop`, while I/O goes on; then marks it healthy. A healthy member
    /// needs nothing. Fails when the member or every source fails meanwhile (the member is
    /// then failed) or the mirror is closed.
    public func resync(from healthy: Int? = nil, to member: Int, on eventLoop: EventLoop) -> EventLoopFuture<ResyncResult> {
        lock.lock()
        guard !closed else {
            lock.unlock()
            return eventLoop.makeFailedFuture(StorageError.closed(device: name))
        }
        guard slots.indices.contains(member) else {
            lock.unlock()
            return eventLoop.makeFailedFuture(StorageError.combination(name: name, problem: "no member \(member)"))
        }
        if slots[member].state == .healthy {
            let result = ResyncResult(member: slots[member].name, source: "", regions: 0, bytes: 0)
            lock.unlock()
            return eventLoop.makeSucceededFuture(result)
        }
        guard !slots[member].resyncRunning else {
            lock.unlock()
            return eventLoop.makeFailedFuture(StorageError.combination(name: name, problem: "member \(slots[member].name) is already being resynced"))
        }
        let source: Int
        if let healthy {
            guard slots.indices.contains(healthy), healthy != member, slots[healthy].state == .healthy else {
                lock.unlock()
                return eventLoop.makeFailedFuture(StorageError.combination(name: name, problem: "resync source \(healthy) is not a healthy member"))
            }
            source = healthy
        } else {
            guard let first = slots.indices.first(where: { slots[$0].state == .healthy }) else {
                lock.unlock()
                return eventLoop.makeFailedFuture(StorageError.noHealthyMember(device: name, operation: "resync"))
            }
            source = first
        }
        // Snapshot the dirty regions now: everything written from here on also reaches the
        // member (it is `resyncing`), and no bit is cleared until it is healthy.
        let regions = bitmap.dirtyRegions
        slots[member].state = .resyncing
        slots[member].resyncRunning = true
        slots[member].resyncDone = 0
        slots[member].resyncTotal = regions.count
        slots[member].reason = "resync from \(slots[source].name)"
        let job = ResyncJob(mirror: self, member: member, device: slots[member].device, memberName: slots[member].name,
                            source: source, regions: regions, loop: eventLoop)
        let records = recordsLocked()
        let sourceName = slots[source].name
        lock.unlock()
        notice("resync of \(job.memberName) from \(sourceName) started: \(regions.count) dirty regions")
        return saveHealth(records, on: eventLoop).flatMap { job.run() }
    }

    /// Resyncs, one after the other, every member waiting for a resync (stale at start, or
    /// replaced); call once the target runs (after the privilege drop). Failures are logged
    /// and leave that member failed; the future lists the resyncs that finished.
    public func resyncStale(on eventLoop: EventLoop) -> EventLoopFuture<[ResyncResult]> {
        let waiting = lock.withLock { slots.indices.filter { slots[$0].state == .resyncing && !slots[$0].resyncRunning } }
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

    /// Puts a new device in place of a failed member (same slot, same name in the health
    /// file): every region is marked dirty (and synced) first, then the device joins as
    /// `resyncing`; the old device is closed. Follow with `resync(to:)` or `resyncStale`.
    public func replaceMember(_ index: Int, with device: BlockDevice, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let problem: String? = lock.withLock {
            if closed { return "closed" }
            guard slots.indices.contains(index) else { return "no member \(index)" }
            guard slots[index].state == .failed, !slots[index].resyncRunning else {
                return "member \(slots[index].name) is \(slots[index].state.rawValue), only a failed member can be replaced"
            }
            guard device.size >= size else { return "replacement \(device.name) has \(device.size) bytes, the mirror needs \(size)" }
            return nil
        }
        if let problem { return eventLoop.makeFailedFuture(StorageError.combination(name: name, problem: problem)) }
        return bitmap.markAllDirty(on: eventLoop).flatMap {
            let swapped: (old: BlockDevice, records: [MirrorHealthFile.Record])? = self.lock.withLock {
                guard !self.closed, self.slots[index].state == .failed else { return nil }
                let old = self.slots[index].device
                self.slots[index].device = device
                self.slots[index].state = .resyncing
                self.slots[index].reason = "replaced by \(device.name): full copy pending"
                self.slots[index].inFlight = 0
                self.slots[index].lastReadEnd = 0
                self.slots[index].resyncDone = 0
                self.slots[index].resyncTotal = 0
                return (old, self.recordsLocked())
            }
            guard let swapped else {
                return eventLoop.makeFailedFuture(StorageError.combination(name: self.name, problem: "member \(index) changed during replacement"))
            }
            if swapped.old !== device { swapped.old.close() }
            return self.saveHealth(swapped.records, on: eventLoop)
        }
    }

    /// One resync: regions copied one at a time, each under its region lock.
    private final class ResyncJob: @unchecked Sendable {
        let mirror: RAID1Device
        let member: Int
        let device: BlockDevice
        let memberName: String
        var source: Int
        let regions: [Int]
        let loop: EventLoop
        let promise: EventLoopPromise<ResyncResult>
        var bytes: UInt64 = 0
        var sourceName = ""

        init(mirror: RAID1Device, member: Int, device: BlockDevice, memberName: String, source: Int, regions: [Int], loop: EventLoop) {
            self.mirror = mirror
            self.member = member
            self.device = device
            self.memberName = memberName
            self.source = source
            self.regions = regions
            self.loop = loop
            self.promise = loop.makePromise(of: ResyncResult.self)
        }

        func run() -> EventLoopFuture<ResyncResult> {
            loop.execute { self.step(0) }
            return promise.futureResult
        }

        /// Why the job cannot go on, if it cannot.
        private func stopped() -> Error? {
            mirror.lock.withLock {
                if mirror.closed { return StorageError.closed(device: mirror.name) }
                let slot = mirror.slots[member]
                if slot.device !== device || slot.state != .resyncing {
                    return StorageError.combination(name: mirror.name, problem: "member \(memberName) failed during its resync")
                }
                return nil
            }
        }

        private func step(_ i: Int) {
            if let error = stopped() { return abort(error) }
            guard i < regions.count else { return finish() }
            let region = regions[i]
            mirror.acquireCopy(region, on: loop).flatMap {
                let (offset, length) = self.mirror.bitmap.range(of: region)
                return self.copy(from: offset, end: offset + UInt64(length)).always { _ in
                    self.mirror.releaseCopy(region)
                }
            }.whenComplete { result in
                switch result {
                case .success:
                    self.mirror.lock.withLock {
                        if self.mirror.slots[self.member].device === self.device { self.mirror.slots[self.member].resyncDone = i + 1 }
                    }
                    // Back through the loop's queue: other I/O runs between regions, and the
                    // stack does not grow with the region count.
                    self.loop.execute { self.step(i + 1) }
                case let .failure(error):
                    self.abort(error)
                }
            }
        }

        private func copy(from offset: UInt64, end: UInt64) -> EventLoopFuture<Void> {
            guard offset < end else { return loop.makeSucceededVoidFuture() }
            let length = Int(min(UInt64(RAID1Device.copyPiece), end - offset))
            return readSource(offset: offset, length: length, tried: []).flatMap { buffer in
                self.device.write(offset: offset, buffers: [buffer], forceUnitAccess: false, on: self.loop).flatMapError { error in
                    _ = self.mirror.memberFailed(self.member, device: self.device, error: error, on: self.loop)
                    return self.loop.makeFailedFuture(error)
                }
            }.flatMap {
                self.bytes += UInt64(length)
                return self.copy(from: offset + UInt64(length), end: end)
            }
        }

        /// Reads from the source, moving to another healthy member when it fails.
        private func readSource(offset: UInt64, length: Int, tried: [Int]) -> EventLoopFuture<ByteBuffer> {
            let picked: (Int, BlockDevice)? = mirror.lock.withLock {
                let slots = mirror.slots
                var index: Int? = slots[source].state == .healthy && !tried.contains(source) ? source : nil
                if index == nil {
                    index = slots.indices.first { $0 != member && slots[$0].state == .healthy && !tried.contains($0) }
                }
                guard let index else { return nil }
                mirror.slots[index].inFlight += 1
                return (index, slots[index].device)
            }
            guard let (index, source) = picked else {
                return loop.makeFailedFuture(StorageError.noHealthyMember(device: mirror.name, operation: "resync read"))
            }
            self.source = index
            self.sourceName = source.name
            return source.read(offset: offset, length: length, on: loop).flatMapThrowing { buffer in
                guard buffer.readableBytes == length else {
                    throw StorageError.shortTransfer(device: source.name, operation: "read", offset: offset,
                                                     expected: length, transferred: buffer.readableBytes)
                }
                return buffer
            }.always { _ in
                self.mirror.requestDone(index, device: source)
            }.flatMapError { error in
                _ = self.mirror.memberFailed(index, device: source, error: error, on: self.loop)
                return self.readSource(offset: offset, length: length, tried: tried + [index])
            }
        }

        private func finish() {
            device.flush(on: loop).whenComplete { result in
                if case let .failure(error) = result {
                    _ = self.mirror.memberFailed(self.member, device: self.device, error: error, on: self.loop)
                    return self.abort(error)
                }
                let records: [MirrorHealthFile.Record]? = self.mirror.lock.withLock {
                    let m = self.mirror
                    guard !m.closed, m.slots[self.member].device === self.device, m.slots[self.member].state == .resyncing else { return nil }
                    m.slots[self.member].state = .healthy
                    m.slots[self.member].reason = ""
                    m.slots[self.member].resyncRunning = false
                    m.slots[self.member].resyncDone = m.slots[self.member].resyncTotal
                    return m.recordsLocked()
                }
                guard let records else {
                    return self.abort(self.stopped() ?? StorageError.closed(device: self.mirror.name))
                }
                let result = ResyncResult(member: self.memberName, source: self.sourceName, regions: self.regions.count, bytes: self.bytes)
                self.mirror.notice("resync of \(self.memberName) done: \(result.regions) regions, \(result.bytes) bytes copied")
                self.mirror.saveHealth(records, on: self.loop).whenComplete { _ in
                    self.mirror.scheduleClean(on: self.loop)
                    self.promise.succeed(result)
                }
            }
        }

        private func abort(_ error: Error) {
            let records: [MirrorHealthFile.Record]? = mirror.lock.withLock {
                let m = mirror
                guard m.slots[member].device === device else { return nil }
                m.slots[member].resyncRunning = false
                guard !m.closed, m.slots[member].state == .resyncing else { return nil }
                // No source left: the member cannot be trusted either.
                m.slots[member].state = .failed
                m.slots[member].reason = "resync stopped: \(error)"
                return m.recordsLocked()
            }
            mirror.notice("resync of \(memberName) stopped: \(error)")
            if let records {
                mirror.saveHealth(records, on: loop).whenComplete { _ in self.promise.fail(error) }
            } else {
                promise.fail(error)
            }
        }
    }

    // MARK: close

    public func close() {
        let state: (devices: [BlockDevice], clean: Bool, pending: [EventLoopPromise<Void>])? = lock.withLock {
            guard !closed else { return nil }
            let clean = ownsMembers && slots.allSatisfy { $0.state == .healthy } && writers.isEmpty && copying.isEmpty
            closed = true
            let pending = pendingWrites.map(\.promise) + pendingCopies.map(\.promise)
            pendingWrites = []
            pendingCopies = []
            return (slots.map(\.device), clean, pending)
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
        healthFile?.close(saving: lock.withLock { ownsMembers ? recordsLocked() : nil })
        if lock.withLock({ ownsMembers }) {
            for device in state.devices { device.close() }
        }
    }
}
