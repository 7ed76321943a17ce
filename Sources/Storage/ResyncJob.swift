import NIOCore

/// One resync of a RAID1 member: the dirty regions snapshot at its start are copied from a
/// healthy member, one region at a time, each under the mirror's exclusive region lock, in
/// pieces of at most `RAID1Device.copyPiece` bytes. When the source fails, the copy moves on
/// to another healthy member; when the member fails, is replaced, or the mirror closes, the
/// job stops. At the end the member is flushed and becomes healthy.
final class ResyncJob: @unchecked Sendable {
    let mirror: RAID1Device
    let member: Int
    let device: BlockDevice
    let memberName: String
    let regions: [Int]
    let loop: EventLoop
    private let promise: EventLoopPromise<RAID1Device.ResyncResult>
    // Only touched on `loop`, one step at a time.
    private var source: Int
    private var sourceName = ""
    private var bytes: UInt64 = 0

    init(mirror: RAID1Device, member: Int, device: BlockDevice, memberName: String, source: Int, regions: [Int], loop: EventLoop) {
        self.mirror = mirror
        self.member = member
        self.device = device
        self.memberName = memberName
        self.source = source
        self.regions = regions
        self.loop = loop
        self.promise = loop.makePromise(of: RAID1Device.ResyncResult.self)
    }

    func run() -> EventLoopFuture<RAID1Device.ResyncResult> {
        loop.execute { self.step(0) }
        return promise.futureResult
    }

    private func step(_ i: Int) {
        if let error = mirror.resyncStopReason(member, device: device, memberName: memberName) { return abort(error) }
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
                self.mirror.resyncProgressed(self.member, device: self.device, done: i + 1)
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
        guard let (index, source) = mirror.claimResyncSource(preferred: self.source, for: member, excluding: tried) else {
            return loop.makeFailedFuture(StorageError.noHealthyMember(device: mirror.name, operation: "resync read"))
        }
        self.source = index
        self.sourceName = source.name
        return source.readExactly(offset: offset, length: length, on: loop).always { _ in
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
            guard let records = self.mirror.resyncFinished(self.member, device: self.device) else {
                let reason = self.mirror.resyncStopReason(self.member, device: self.device, memberName: self.memberName)
                return self.abort(reason ?? StorageError.closed(device: self.mirror.name))
            }
            let result = RAID1Device.ResyncResult(member: self.memberName, source: self.sourceName,
                                                  regions: self.regions.count, bytes: self.bytes)
            self.mirror.notice("resync of \(self.memberName) done: \(result.regions) regions, \(result.bytes) bytes copied")
            self.mirror.saveHealth(records, on: self.loop).whenComplete { _ in
                self.mirror.scheduleClean(on: self.loop)
                self.promise.succeed(result)
            }
        }
    }

    private func abort(_ error: Error) {
        let records = mirror.resyncAborted(member, device: device, error: error)
        mirror.notice("resync of \(memberName) stopped: \(error)")
        if let records {
            mirror.saveHealth(records, on: loop).whenComplete { _ in self.promise.fail(error) }
        } else {
            promise.fail(error)
        }
    }
}
