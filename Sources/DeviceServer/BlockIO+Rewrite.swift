import NIOCore
import SCSI
import Storage

/// The commands that write what they did not receive as such: WRITE SAME (one block over a
/// range), and COMPARE AND WRITE and ORWRITE, which read the medium and decide what to write
/// with the range held exclusively.
extension BlockIO {
    /// WRITE SAME: one block of pattern (zeros for NDOB) over the range, or with UNMAP on a
    /// thin LU, the range deallocated (it reads as zeros afterwards, LBPRZ).
    func writeSame(_ data: [ByteBuffer], lba: UInt64, blocks: UInt32, zeros: Bool, unmap: Bool,
                   commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        var pattern = ByteBufferAllocator().buffer(capacity: blockSize)
        if zeros {
            pattern.writeRepeatingByte(0, count: blockSize)
        } else {
            guard data.totalBytes >= blockSize else {
                return loop.makeSucceededFuture(command.failed(.parameterListLengthError))
            }
            for chunk in data { pattern.writeImmutableBuffer(chunk) }
            pattern = pattern.getSlice(at: pattern.readerIndex, length: blockSize)!
        }
        if unmap, let store = device as? Deallocating, store.canDeallocate {
            return deallocate([BlockRange(lba: lba, blocks: blocks)], commandLength: commandLength)
        }
        let written = lockRange(offset: lba * UInt64(blockSize), length: Int(blocks) * blockSize, exclusive: false)
            .flatMap { [self, pattern] id in
                writeRepeated(pattern, from: lba, blocks: UInt64(blocks)).always { [unit] _ in unit.writeRanges.release(id) }
            }
        return settle(written, commandLength: commandLength, failure: .writeError)
    }

    /// WRITE SAME's writes: one buffer of up to 1 MiB of repeated pattern, written chunk after
    /// chunk (one at a time: a long WRITE SAME must not flood the device queue).
    private func writeRepeated(_ pattern: ByteBuffer, from lba: UInt64, blocks: UInt64) -> EventLoopFuture<Void> {
        let blockSize = UInt64(pattern.readableBytes)
        let perChunk = max(1, min(blocks, (1 << 20) / blockSize))
        var filled = ByteBufferAllocator().buffer(capacity: Int(perChunk * blockSize))
        for _ in 0..<perChunk { filled.writeImmutableBuffer(pattern) }
        let chunk = filled
        let (device, loop) = (device, loop)
        @Sendable func write(from next: UInt64) -> EventLoopFuture<Void> {
            let end = lba + blocks
            guard next < end else { return loop.makeSucceededVoidFuture() }
            let count = min(perChunk, end - next)
            let slice = chunk.getSlice(at: chunk.readerIndex, length: Int(count * blockSize))!
            return device.write(offset: next * blockSize, buffers: [slice], forceUnitAccess: false, on: loop)
                .flatMap { write(from: next + count) }
        }
        return write(from: lba)
    }

    /// COMPARE AND WRITE: the medium must equal the first half of the Data-Out (else
    /// MISCOMPARE at the first differing byte), then the second half is written.
    func compareAndWrite(_ data: [ByteBuffer], lba: UInt64, blocks: UInt32, fua: Bool,
                         commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        let length = Int(blocks) * blockSize
        guard data.totalBytes == 2 * length else {
            // The initiator's expected length did not cover both halves.
            return loop.makeSucceededFuture(command.failed(.invalidFieldInCDB(byte: 13)))
        }
        var both = ByteBufferAllocator().buffer(capacity: 2 * length)
        for chunk in data { both.writeImmutableBuffer(chunk) }
        let verify = both.getSlice(at: both.readerIndex, length: length)!
        let replacement = both.getSlice(at: both.readerIndex + length, length: length)!
        return readModifyWrite(offset: lba * UInt64(blockSize), length: length, fua: fua,
                               commandLength: commandLength) { medium in
            if let at = firstDifference(medium, [verify]) { return .failure(.miscompare(offset: UInt64(at))) }
            return .success(replacement)
        }
    }

    /// ORWRITE: the Data-Out ORed into the medium.
    func orWrite(_ data: [ByteBuffer], lba: UInt64, fua: Bool, commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        let length = data.totalBytes
        guard length > 0 else { return loop.makeSucceededFuture(good(commandLength)) }
        var mask = ByteBufferAllocator().buffer(capacity: length)
        for chunk in data { mask.writeImmutableBuffer(chunk) }
        return readModifyWrite(offset: lba * UInt64(blockSize), length: length, fua: fua,
                               commandLength: commandLength) { [mask] medium in
            var result = medium
            result.withUnsafeMutableReadableBytes { m in
                mask.withUnsafeReadableBytes { d in
                    for i in 0..<min(m.count, d.count) { m[i] |= d[i] }
                }
            }
            return .success(result)
        }
    }

    /// Read, decide, write, with the range held exclusively throughout: no other write to
    /// these blocks can land between the read and the write. `decide` gives what to write,
    /// or the sense to answer with instead (nothing is written then).
    private func readModifyWrite(offset: UInt64, length: Int, fua: Bool, commandLength: Int,
                                 decide: @escaping @Sendable (ByteBuffer) -> Result<ByteBuffer, SenseData>)
        -> EventLoopFuture<SCSICompletion> {
        let promise = loop.makePromise(of: SCSICompletion.self)
        let (unit, loop) = (unit, loop)
        lockRange(offset: offset, length: length, exclusive: true).whenSuccess { [self] id in
            unit.device.read(offset: offset, length: length, on: loop).whenComplete { [self] result in
                let medium: ByteBuffer
                switch result {
                case let .failure(error):
                    unit.writeRanges.release(id)
                    return promise.succeed(storageFailed(error, sense: .unrecoveredReadError))
                case let .success(read):
                    medium = read
                }
                let data: ByteBuffer
                switch decide(medium) {
                case let .failure(sense):
                    unit.writeRanges.release(id)
                    return promise.succeed(command.failed(sense))
                case let .success(decided):
                    data = decided
                }
                unit.device.write(offset: offset, buffers: [data], forceUnitAccess: fua, on: loop).whenComplete { [self] result in
                    unit.writeRanges.release(id)
                    switch result {
                    case .success: promise.succeed(good(commandLength))
                    case let .failure(error): promise.succeed(storageFailed(error, sense: .writeError))
                    }
                }
            }
        }
        return promise.futureResult
    }
}
