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
        notice("lun \(info.lun) of \(info.targetName): sanitize (\(plan.summary)) of \(total) bytes started")
        // The whole LU, exclusively, for the whole operation: writes that hold ranges finish
        // first; writes decoded before the sanitize whose data comes later wait for its end.
        let locked = loop.makePromise(of: UInt64.self)
        writeRanges.acquire(lo: 0, hi: max(total, 1), exclusive: true) { locked.succeed($0) }
        let work = locked.futureResult.flatMap { [self] id -> EventLoopFuture<Void> in
            let erased: EventLoopFuture<Void>
            switch plan {
            case .blockErase:
                if let store = device as? Deallocating, store.canDeallocate {
                    erased = store.deallocate(offset: 0, length: total, on: loop)
                } else {
                    erased = loop.makeFailedFuture(StorageError.io(device: device.name, operation: "deallocate", offset: 0,
                                                                   length: 0, errno: EOPNOTSUPP))
                }
            case let .overwrite(pattern, invert, passes):
                erased = overwrite(pattern: pattern, invert: invert, passes: passes, total: total, on: loop)
            }
            return erased.flatMap { [device] in device.flush(on: loop) }
                .always { [self] _ in writeRanges.release(id) }
        }
        return work.always { [self] result in
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

    /// When chunk `index` may start at `rate` bytes per second: the bytes before it over the
    /// rate, in whole seconds and the remainder apart (no overflow for any LU size).
    static func due(start: NIODeadline, bytesBefore: UInt64, rate: UInt64) -> NIODeadline {
        let seconds = bytesBefore / rate
        let nanoseconds = (bytesBefore % rate).multipliedFullWidth(by: 1_000_000_000)
        let fraction = rate.dividingFullWidth(nanoseconds).quotient
        return start + .seconds(Int64(clamping: seconds)) + .nanoseconds(Int64(clamping: fraction))
    }

    /// Every pass over the whole LU, a chunk at a time (the caller holds the whole LU's range).
    /// With a rate, chunk k starts no earlier than k chunks' worth of the rate after the start.
    private func overwrite(pattern: [UInt8], invert: Bool, passes: Int, total: UInt64,
                           on loop: EventLoop) -> EventLoopFuture<Void> {
        let chunk = UInt64(max(blockSize, Self.sanitizeChunkBytes / blockSize * blockSize))
        let chunksPerPass = (total + chunk - 1) / chunk
        guard chunksPerPass > 0 else { return loop.makeSucceededVoidFuture() }  // an empty LU
        let (allBytes, _) = total.multipliedReportingOverflow(by: UInt64(passes))
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
        let finished = loop.makePromise(of: Void.self)
        // One chunk after another, each scheduled from the last one's completion: no chain of
        // futures grows with the size of the LU.
        @Sendable func step(_ index: UInt64) {
            let pass = Int(index / chunksPerPass)
            guard pass < passes else { return finished.succeed() }
            let offset = (index % chunksPerPass) * chunk
            let length = Int(min(chunk, total - offset))
            let data = chunks[(passes - 1 - pass) % chunks.count].getSlice(at: 0, length: length)!
            let write: @Sendable () -> Void = { [self] in
                device.write(offset: offset, buffers: [data], forceUnitAccess: false, on: loop).whenComplete { [self] result in
                    switch result {
                    case .success:
                        let done = UInt64(pass) * total + offset + UInt64(length)
                        updateState { $0.sanitizeProgressed(done: done, of: allBytes) }
                        step(index + 1)
                    case let .failure(error):
                        finished.fail(error)
                    }
                }
            }
            if let rate, case let due = Self.due(start: start, bytesBefore: index * chunk, rate: rate), due > .now() {
                loop.scheduleTask(deadline: due, write)
            } else {
                loop.execute(write)
            }
        }
        step(0)
        return finished.futureResult
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
