import Glibc
import Logging
import NIOCore
import SCSI
import Storage

/// The storage side of one command on its LU: each decoded action as device calls, under
/// the LU's write-range lock where writes are concerned, ending in the command's completion.
/// A storage error ends in CHECK CONDITION with the sense the action calls for, and a log
/// line with the LU, the initiator and the error.
struct BlockIO {
    let unit: LogicalUnit
    let command: PreparedCommand
    let loop: EventLoop

    var device: BlockDevice { unit.device }
    var blockSize: Int { unit.blockSize }
    var expected: Int { command.expected }

    // MARK: completions

    func good(_ commandLength: Int) -> SCSICompletion { .good(commandLength: commandLength, expected: expected) }

    func storageFailed(_ error: Error, sense: SenseData) -> SCSICompletion {
        unit.logger.error("I/O error: \(error)", metadata: command.context.logMetadata)
        // A store that cannot serve for now (an unreachable cluster) is not a bad medium:
        // NOT READY, BECOMING READY, so that the initiator retries or its multipath moves on.
        if case .unavailable? = error as? StorageError { return command.failed(.notReadyBecomingReady) }
        return command.failed(sense)
    }

    /// GOOD when `work` succeeds, else CHECK CONDITION with `failure`.
    func settle(_ work: EventLoopFuture<Void>, commandLength: Int, failure: SenseData) -> EventLoopFuture<SCSICompletion> {
        let promise = loop.makePromise(of: SCSICompletion.self)
        work.whenComplete { [self] result in
            switch result {
            case .success: promise.succeed(good(commandLength))
            case let .failure(error): promise.succeed(storageFailed(error, sense: failure))
            }
        }
        return promise.futureResult
    }

    // MARK: reads

    /// READ: the medium's bytes (at most the expected length) as Data-In.
    func read(lba: UInt64, length: Int) -> EventLoopFuture<SCSICompletion> {
        let transfer = min(length, expected)
        guard transfer > 0 else { return loop.makeSucceededFuture(good(length)) }
        let promise = loop.makePromise(of: SCSICompletion.self)
        device.read(offset: lba * UInt64(blockSize), length: transfer, on: loop).whenComplete { [self] result in
            switch result {
            case let .success(buffer): promise.succeed(.data(buffer, commandLength: length, expected: expected))
            case let .failure(error): promise.succeed(storageFailed(error, sense: .unrecoveredReadError))
            }
        }
        return promise.futureResult
    }

    /// GET LBA STATUS: whether `lba` is mapped, and how far that goes.
    func lbaStatus(lba: UInt64, allocation: Int) -> EventLoopFuture<SCSICompletion> {
        guard let store = device as? Deallocating else {
            return loop.makeSucceededFuture(command.failed(.internalTargetFailure))
        }
        let blockSize = UInt64(self.blockSize)
        let remaining = (unit.info.blockCount - lba) * blockSize
        return store.allocation(at: lba * blockSize, length: remaining, on: loop).map { [self] extent in
            let blocks = UInt32(clamping: max(1, extent.length / blockSize))
            let bytes = GetLBAStatusCommand.response(lba: lba, blocks: blocks, deallocated: !extent.mapped,
                                                     allocation: allocation)
            var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            return .data(buffer, commandLength: bytes.count, expected: expected)
        }.recover { [self] error in storageFailed(error, sense: .unrecoveredReadError) }
    }

    /// SYNCHRONIZE CACHE: every completed write made durable.
    func flush() -> EventLoopFuture<SCSICompletion> {
        settle(device.flush(on: loop), commandLength: 0, failure: .writeError)
    }

    // MARK: writes

    /// Takes `length` bytes at `offset` in the LU's write ranges; the future carries the token
    /// to release (granted at once unless an exclusive holder overlaps).
    func lockRange(offset: UInt64, length: Int, exclusive: Bool) -> EventLoopFuture<UInt64> {
        let promise = loop.makePromise(of: UInt64.self)
        unit.writeRanges.acquire(lo: offset, hi: offset + UInt64(length), exclusive: exclusive) { promise.succeed($0) }
        return promise.futureResult
    }

    /// WRITE: the Data-Out written as it arrived (one vector, no copy), its range held shared.
    func write(_ data: [ByteBuffer], lba: UInt64, fua: Bool, commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        let length = data.totalBytes
        guard length > 0 else { return loop.makeSucceededFuture(good(commandLength)) }
        let offset = lba * UInt64(blockSize)
        // The hot path: one promise and the device's own future, no combinators. The range is
        // granted at once (on this thread) unless a COMPARE AND WRITE holds an overlapping one.
        let promise = loop.makePromise(of: SCSICompletion.self)
        @Sendable func write(_ id: UInt64) {
            unit.device.write(offset: offset, buffers: data, forceUnitAccess: fua, on: loop).whenComplete { [self] result in
                unit.writeRanges.release(id)
                switch result {
                case .success: promise.succeed(good(commandLength))
                case let .failure(error): promise.succeed(storageFailed(error, sense: .writeError))
                }
            }
        }
        unit.writeRanges.acquire(lo: offset, hi: offset + UInt64(length), exclusive: false) { [loop] id in
            // A grant that waited comes on the thread that released the range: back to ours.
            if loop.inEventLoop { write(id) } else { loop.execute { write(id) } }
        }
        return promise.futureResult
    }

    /// WRITE AND VERIFY: written durably, then (BYTCHK) compared with the medium.
    func writeAndVerify(_ data: [ByteBuffer], lba: UInt64, byteCheck: Bool,
                        commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        let length = data.totalBytes
        guard length > 0 else { return loop.makeSucceededFuture(good(commandLength)) }
        let offset = lba * UInt64(blockSize)
        let (unit, loop) = (unit, loop)
        // Held shared from the write to the check, like any write: a COMPARE AND WRITE on
        // these blocks waits for it (and the check sees this command's data, not a CAW's).
        let medium = lockRange(offset: offset, length: length, exclusive: false).flatMap { id in
            unit.device.write(offset: offset, buffers: data, forceUnitAccess: true, on: loop)
                .flatMap { () -> EventLoopFuture<ByteBuffer?> in
                    byteCheck ? unit.device.read(offset: offset, length: length, on: loop).map { Optional($0) }
                              : loop.makeSucceededFuture(nil)
                }
                .always { _ in unit.writeRanges.release(id) }
        }
        return medium.map { [self] medium in
            if let medium, let at = firstDifference(medium, data) { return command.failed(.miscompare(offset: UInt64(at))) }
            return good(commandLength)
        }.recover { [self] error in storageFailed(error, sense: .writeError) }
    }

    /// VERIFY with BYTCHK: the Data-Out compared with the medium.
    func verify(_ data: [ByteBuffer], lba: UInt64, commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        let length = data.totalBytes
        guard length > 0 else { return loop.makeSucceededFuture(good(commandLength)) }
        return device.read(offset: lba * UInt64(blockSize), length: length, on: loop).map { [self] medium in
            if let at = firstDifference(medium, data) { return command.failed(.miscompare(offset: UInt64(at))) }
            return good(commandLength)
        }.recover { [self] error in storageFailed(error, sense: .unrecoveredReadError) }
    }

    /// UNMAP / WRITE SAME with UNMAP: the ranges one after the other, each held shared like
    /// a write (a COMPARE AND WRITE on these blocks sees all or none), then GOOD.
    func deallocate(_ ranges: [BlockRange], commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        guard let store = device as? Deallocating else {
            return loop.makeSucceededFuture(command.failed(.internalTargetFailure))
        }
        let blockSize = UInt64(self.blockSize)
        var done = loop.makeSucceededVoidFuture()
        for range in ranges {
            let offset = range.lba * blockSize, length = UInt64(range.blocks) * blockSize
            done = done.flatMap { [self] in
                lockRange(offset: offset, length: Int(length), exclusive: false)
            }.flatMap { [unit, loop] id in
                store.deallocate(offset: offset, length: length, on: loop).always { _ in unit.writeRanges.release(id) }
            }
        }
        return settle(done, commandLength: commandLength, failure: .writeError)
    }

    /// SANITIZE: started on the LU, detached from the command; GOOD at once with IMMED, else
    /// when it ends (MEDIUM ERROR, SANITIZE COMMAND FAILED if it failed).
    func sanitize(_ plan: SanitizePlan, immediate: Bool, commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        let done = unit.runSanitize(plan, on: loop)
        if immediate { return loop.makeSucceededFuture(good(commandLength)) }
        return settle(done, commandLength: commandLength, failure: .sanitizeCommandFailed)
    }
}

extension Array where Element == ByteBuffer {
    /// Bytes in all the buffers.
    var totalBytes: Int {
        var total = 0
        for buffer in self { total += buffer.readableBytes }
        return total
    }
}

/// Offset of the first byte where `medium` differs from the chunks laid end to end.
func firstDifference(_ medium: ByteBuffer, _ chunks: [ByteBuffer]) -> Int? {
    var offset = 0
    for chunk in chunks {
        let n = chunk.readableBytes
        let differs: Int? = medium.withUnsafeReadableBytes { m in
            chunk.withUnsafeReadableBytes { c in
                if memcmp(m.baseAddress! + offset, c.baseAddress!, n) == 0 { return nil }
                for i in 0..<n where m[offset + i] != c[i] { return offset + i }
                return nil
            }
        }
        if let differs { return differs }
        offset += n
    }
    return nil
}
