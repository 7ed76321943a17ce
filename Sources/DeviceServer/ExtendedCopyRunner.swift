import NIOCore
import SCSI
import Storage

/// EXTENDED COPY's data movement: the copy manager (the LU the command came to) resolves each
/// CSCD descriptor to an LU the nexus can reach, then copies the segments in order, a chunk at
/// a time, through the LUs' own devices and write-range locks. The status is GOOD when every
/// segment is copied; otherwise COPY ABORTED, with the segments done so far left in place (as
/// SPC-4 6.4.3.3 allows). Confined to the command's event loop.
struct ExtendedCopyRunner {
    /// Bytes read and written per step: large enough for sequential throughput, small enough
    /// that a long copy does not hold much memory or starve the LU's other commands.
    static let chunkBytes = 1 << 20

    let manager: LogicalUnit
    let command: PreparedCommand
    let task: any TaskHandle
    let loop: EventLoop

    private final class Progress {
        var segments = 0
        var bytes: UInt64 = 0
    }

    func run(_ request: ExtendedCopyRequest, among units: [LogicalUnit],
             commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        let nexus = command.context.nexus
        let progress = Progress()
        let promise = loop.makePromise(of: SCSICompletion.self)
        func finish(_ sense: SenseData?) {
            manager.finishCopy(request, for: nexus, segmentsProcessed: progress.segments, bytesCopied: progress.bytes,
                               failed: sense != nil)
            if let sense {
                if !task.isAborted {
                    manager.logger.warning("EXTENDED COPY list \(request.listID) stopped at segment \(progress.segments): \(sense)",
                                           metadata: command.context.logMetadata)
                }
                promise.succeed(command.failed(sense))
            } else {
                promise.succeed(.good(commandLength: commandLength, expected: command.expected))
            }
        }
        // Every descriptor must name a reachable LU with the block length it claims.
        var targets: [LogicalUnit] = []
        for descriptor in request.targets {
            guard let unit = units.first(where: { ExtendedCopyCommand.designates(descriptor.designator, $0.info) }),
                  descriptor.blockLength == 0 || Int(descriptor.blockLength) == unit.blockSize else {
                finish(.copyTargetNotReachable)
                return promise.futureResult
            }
            targets.append(unit)
        }
        func next(_ index: Int) {
            guard index < request.segments.count else { return finish(nil) }
            let segment = request.segments[index]
            guard segment.source < targets.count, segment.destination < targets.count else {
                return finish(.copyTargetNotReachable)
            }
            let source = targets[segment.source]
            let destination = targets[segment.destination]
            guard source.blockSize == destination.blockSize else { return finish(.copyTargetNotReachable) }
            let blocks = UInt64(segment.blocks)
            guard segment.sourceLBA <= source.info.blockCount, blocks <= source.info.blockCount - segment.sourceLBA,
                  segment.destinationLBA <= destination.info.blockCount,
                  blocks <= destination.info.blockCount - segment.destinationLBA else {
                return finish(.copySegmentOutOfRange)
            }
            // Each LU as a READ / WRITE from this nexus would find it: reservations, a
            // sanitize, a stopped unit, write protection.
            if blocks > 0, let refusal = source.copyRefusal(for: nexus, writing: false)
                ?? destination.copyRefusal(for: nexus, writing: true) {
                return finish(refusal)
            }
            let blockSize = UInt64(source.blockSize)
            copyBlocks(from: source, at: segment.sourceLBA * blockSize, to: destination,
                       at: segment.destinationLBA * blockSize, length: blocks * blockSize)
                .assumeIsolated().whenComplete { result in
                    switch result {
                    case let .success(copied):
                        progress.bytes += copied
                        progress.segments += 1
                        next(index + 1)
                    case let .failure(error):
                        finish(error as? SenseData ?? .copyWriteError)
                    }
                }
        }
        next(0)
        return promise.futureResult
    }

    /// Copies `length` bytes in chunks, front to back, or back to front when the destination
    /// overlaps the source further on (so nothing is read after it was overwritten). Each
    /// chunk's write holds its range in the destination's write-range lock, as any write does.
    /// Fails with COPY ABORTED sense; stops between chunks when the task is aborted.
    private func copyBlocks(from source: LogicalUnit, at sourceOffset: UInt64, to destination: LogicalUnit,
                            at destinationOffset: UInt64, length: UInt64) -> EventLoopFuture<UInt64> {
        let (loop, task) = (loop, task)
        let chunk = UInt64(Self.chunkBytes)
        let backwards = source === destination && destinationOffset > sourceOffset
            && destinationOffset < sourceOffset + length
        let count = (length + chunk - 1) / chunk
        func step(_ i: UInt64, copied: UInt64) -> EventLoopFuture<UInt64> {
            guard i < count else { return loop.makeSucceededFuture(copied) }
            if task.isAborted { return loop.makeFailedFuture(SenseData.copyAborted) }
            let k = backwards ? count - 1 - i : i
            let offset = k * chunk
            let size = Int(min(chunk, length - offset))
            return source.device.read(offset: sourceOffset + offset, length: size, on: loop).assumeIsolated()
                .flatMapErrorThrowing { _ in throw SenseData.copyReadError }
                .flatMap { data in
                    let locked = loop.makePromise(of: UInt64.self)
                    destination.writeRanges.acquire(lo: destinationOffset + offset,
                                                    hi: destinationOffset + offset + UInt64(size),
                                                    exclusive: false) { locked.succeed($0) }
                    return locked.futureResult.flatMap { id in
                        destination.device.write(offset: destinationOffset + offset, buffers: [data],
                                                 forceUnitAccess: false, on: loop)
                            .always { _ in destination.writeRanges.release(id) }
                    }
                    .flatMapErrorThrowing { _ in throw SenseData.copyWriteError }
                }
                .flatMap { step(i + 1, copied: copied + UInt64(size)) }
                .nonisolated()
        }
        return step(0, copied: 0)
    }
}
