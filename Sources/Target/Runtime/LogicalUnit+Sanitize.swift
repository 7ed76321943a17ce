import Glibc
import NIOCore
import SCSI
import Storage

/// SANITIZE as the LU carries it out: detached from the command and its session (it goes on
/// through ABORT TASK, resets and logouts, as SBC-4 4.11 requires), on the event loop it was
/// started from, reporting progress to the LU state so that every other command meanwhile gets
/// NOT READY, SANITIZE IN PROGRESS with the fraction done.
extension LogicalUnit {
    /// Bytes written per step of an overwrite.
    static let sanitizeChunkBytes = 1 << 20

    /// Runs `plan` (the decoder has marked the LU as sanitizing) and ends the sanitize in the
    /// LU state: idle when it succeeded, in failure mode otherwise. The future is for the
    /// command's status; the work does not depend on anyone waiting for it.
    public func runSanitize(_ plan: SanitizePlan, on loop: EventLoop) -> EventLoopFuture<Void> {
        let total = info.blockCount * UInt64(blockSize)
        let work: EventLoopFuture<Void>
        switch plan {
        case .blockErase:
            if let store = device as? Deallocating, store.canDeallocate {
                work = store.deallocate(offset: 0, length: total, on: loop)
            } else {
                work = loop.makeFailedFuture(StorageError.io(device: device.name, operation: "deallocate", offset: 0,
                                                             length: 0, errno: EOPNOTSUPP))
            }
        case let .overwrite(pattern, invert, passes):
            work = overwrite(pattern: pattern, invert: invert, passes: passes, total: total, on: loop)
        }
        notice("lun \(info.lun) of \(info.targetName): sanitize (\(plan.summary)) of \(total) bytes started")
        return work.flatMap { [device] in device.flush(on: loop) }.always { [self] result in
            let succeeded: Bool
            switch result {
            case .success:
                succeeded = true
                notice("lun \(info.lun) of \(info.targetName): sanitize done")
            case let .failure(error):
                succeeded = false
                notice("lun \(info.lun) of \(info.targetName): sanitize failed (\(error)); the medium is refused until a sanitize succeeds or EXIT FAILURE MODE")
            }
            updateState { $0.sanitizeFinished(succeeded: succeeded) }
        }
    }

    /// Every pass over the whole LU, a chunk at a time, each chunk's range held exclusively (a
    /// write that started before the sanitize lands first, none after). With a rate, chunk k
    /// starts no earlier than k chunks' worth of the rate after the start.
    private func overwrite(pattern: [UInt8], invert: Bool, passes: Int, total: UInt64,
                           on loop: EventLoop) -> EventLoopFuture<Void> {
        let chunk = UInt64(max(blockSize, Self.sanitizeChunkBytes / blockSize * blockSize))
        let chunksPerPass = (total + chunk - 1) / chunk
        let allBytes = total * UInt64(passes)
        let start = NIODeadline.now()
        // A chunk of the pattern's blocks, and of the inverted ones when passes alternate.
        let chunks: [ByteBuffer] = (0..<(invert && passes > 1 ? 2 : 1)).map { pass in
            let block = SanitizePlan.block(pattern: pattern, invert: invert, passes: passes,
                                           pass: passes - 1 - pass, blockSize: blockSize)
            var out = ByteBufferAllocator().buffer(capacity: Int(chunk))
            for _ in 0..<(Int(chunk) / blockSize) { out.writeBytes(block) }
            return out
        }
        let rate = sanitizeRate
        @Sendable func step(_ index: UInt64) -> EventLoopFuture<Void> {
            let pass = Int(index / chunksPerPass)
            guard pass < passes else { return loop.makeSucceededVoidFuture() }
            let offset = (index % chunksPerPass) * chunk
            let length = Int(min(chunk, total - offset))
            let data = chunks[(passes - 1 - pass) % chunks.count].getSlice(at: 0, length: length)!
            let started: EventLoopFuture<Void>
            let due = rate.map { start + .nanoseconds(Int64(clamping: index * chunk * 1_000_000_000 / $0)) }
            if let due, due > .now() {
                started = loop.scheduleTask(deadline: due) {}.futureResult
            } else {
                started = loop.makeSucceededVoidFuture()
            }
            return started.flatMap { [self] in
                let locked = loop.makePromise(of: UInt64.self)
                writeRanges.acquire(lo: offset, hi: offset + UInt64(length), exclusive: true) { locked.succeed($0) }
                return locked.futureResult
            }
            .flatMap { [self] id in
                device.write(offset: offset, buffers: [data], forceUnitAccess: false, on: loop)
                    .always { [self] _ in writeRanges.release(id) }
            }
            .flatMap { [self] in
                let done = UInt64(pass) * total + offset + UInt64(length)
                updateState { $0.sanitizeProgressed(done: done, of: allBytes) }
                return step(index + 1)
            }
        }
        return step(0)
    }
}

extension SanitizePlan {
    var summary: String {
        switch self {
        case .blockErase: return "block erase"
        case let .overwrite(pattern, invert, passes):
            return "overwrite, \(passes) pass\(passes == 1 ? "" : "es") of a \(pattern.count)-byte pattern\(invert ? ", inverted between passes" : "")"
        }
    }
}
