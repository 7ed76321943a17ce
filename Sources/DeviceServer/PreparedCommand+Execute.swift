import Logging
import NIOCore
import SCSI
import Storage

extension PreparedCommand {
    /// The second step of a command: runs it with the Data-Out collected for it (as slices,
    /// in offset order; none when the plan was `.none`) and ends in its completion. Called on
    /// `loop`, which the future completes on. Storage failures end in CHECK CONDITION with
    /// the matching sense, logged with the LU and the initiator.
    public func execute(dataOut: [ByteBuffer], task: any TaskHandle, services: any TaskSetServices,
                        on loop: EventLoop) -> EventLoopFuture<SCSICompletion> {
        guard let unit else {
            return loop.makeSucceededFuture(immediateCompletion ?? failed(.lunNotSupported))
        }
        if let immediateCompletion { return loop.makeSucceededFuture(immediateCompletion) }
        let io = BlockIO(unit: unit, command: self, loop: loop)
        let blockSize = unit.blockSize
        let commandLength = action.transferLength(blockSize: blockSize)
        switch action {
        case .dataIn, .good, .checkCondition, .reservationConflict, .verify(_, _, false):
            preconditionFailure("answered by immediateCompletion")
        case let .read(lba, blocks, _):
            return io.read(lba: lba, length: Int(blocks) * blockSize)
        case let .lbaStatus(lba, allocation):
            return io.lbaStatus(lba: lba, allocation: allocation)
        case .synchronizeCache:
            return io.flush()
        case let .sanitize(plan, immediate):
            return io.sanitize(plan, immediate: immediate, commandLength: 0)
        case let .write(lba, _, fua):
            return io.write(dataOut, lba: lba, fua: fua, commandLength: commandLength)
        case let .writeAndVerify(lba, _, byteCheck):
            return io.writeAndVerify(dataOut, lba: lba, byteCheck: byteCheck, commandLength: commandLength)
        case let .verify(lba, _, _):
            return io.verify(dataOut, lba: lba, commandLength: commandLength)
        case let .writeSame(lba, blocks, zeros, unmap):
            return io.writeSame(dataOut, lba: lba, blocks: blocks, zeros: zeros, unmap: unmap,
                                commandLength: commandLength)
        case let .compareAndWrite(lba, blocks, fua):
            return io.compareAndWrite(dataOut, lba: lba, blocks: blocks, fua: fua, commandLength: commandLength)
        case let .orWrite(lba, _, fua):
            return io.orWrite(dataOut, lba: lba, fua: fua, commandLength: commandLength)
        case .parameterData:
            return completeParameterList(dataOut, unit: unit, task: task, services: services, on: loop,
                                         commandLength: commandLength)
        case .abortTasks, .extendedCopy, .deallocate:
            // Outcomes of a parameter list only (SCSICommandDecoder.complete), never of decode.
            unit.logger.error("decoder returned \(action) for CDB opcode \(cdb.opcode) at its first step")
            return loop.makeSucceededFuture(failed(.internalTargetFailure))
        }
    }

    /// The answer that needs neither data nor storage (decided by the decoder), if any.
    var immediateCompletion: SCSICompletion? {
        switch action {
        case let .dataIn(bytes):
            var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            return .data(buffer, commandLength: bytes.count, expected: expected)
        case .good, .verify(_, _, false):
            return .good(commandLength: 0, expected: expected)
        case let .checkCondition(sense):
            return failed(sense)
        case .reservationConflict:
            return .reservationConflict(expected: expected)
        default:
            return nil
        }
    }

    /// MODE SELECT, PERSISTENT RESERVE OUT, UNMAP, EXTENDED COPY, SANITIZE: the parameter list
    /// has arrived; the LU decides under its state lock, then the outcome is carried out.
    private func completeParameterList(_ dataOut: [ByteBuffer], unit: LogicalUnit, task: any TaskHandle,
                                       services: any TaskSetServices, on loop: EventLoop,
                                       commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        // An empty list goes on too: the decoder answers PARAMETER LIST LENGTH ERROR.
        var parameters: [UInt8] = []
        parameters.reserveCapacity(dataOut.reduce(0) { $0 + $1.readableBytes })
        for chunk in dataOut { parameters += chunk.readableBytesView }
        return unit.complete(cdb, parameters: parameters, context: context, on: loop).assumeIsolated()
            .flatMap { outcome -> EventLoopFuture<SCSICompletion> in
                if task.isAborted {
                    // Aborted meanwhile: what the LU state already says has begun must still
                    // end (a sanitize runs on; a copy is marked over); the rest is dropped.
                    abandon(outcome, unit: unit, on: loop)
                    return loop.makeSucceededFuture(failed(.internalTargetFailure))
                }
                return carryOut(outcome, unit: unit, task: task, services: services, on: loop,
                                commandLength: commandLength)
            }
            .flatMapErrorThrowing { error in
                unit.logger.error("parameter list not applied: \(error)", metadata: context.logMetadata)
                return failed(.writeError)
            }
            .nonisolated()
    }

    private func carryOut(_ outcome: SCSIAction, unit: LogicalUnit, task: any TaskHandle,
                          services: any TaskSetServices, on loop: EventLoop,
                          commandLength: Int) -> EventLoopFuture<SCSICompletion> {
        let io = BlockIO(unit: unit, command: self, loop: loop)
        switch outcome {
        case .good:
            return loop.makeSucceededFuture(.good(commandLength: commandLength, expected: expected))
        case let .checkCondition(sense):
            return loop.makeSucceededFuture(failed(sense))
        case .reservationConflict:
            return loop.makeSucceededFuture(.reservationConflict(expected: expected))
        case let .deallocate(ranges):
            return io.deallocate(ranges, commandLength: commandLength)
        case let .abortTasks(victims):
            // PREEMPT AND ABORT: the preempted nexuses' tasks on this LU end without a
            // response (TAS=0), wherever their connections run; then GOOD.
            let expected = expected
            return services.abortTasks(of: victims, on: unit).map { _ in
                .good(commandLength: commandLength, expected: expected)
            }
        case let .extendedCopy(request):
            return ExtendedCopyRunner(manager: unit, command: self, task: task, loop: loop)
                .run(request, among: services.copyReachableUnits, commandLength: commandLength)
        case let .sanitize(plan, immediate):
            return io.sanitize(plan, immediate: immediate, commandLength: commandLength)
        default:
            unit.logger.error("unexpected outcome of a parameter list: \(outcome)")
            return loop.makeSucceededFuture(failed(.internalTargetFailure))
        }
    }

    /// The outcome of an aborted command's parameter list, for what must not be left half done.
    private func abandon(_ outcome: SCSIAction, unit: LogicalUnit, on loop: EventLoop) {
        switch outcome {
        case let .sanitize(plan, _):
            _ = unit.runSanitize(plan, on: loop)
        case let .extendedCopy(request):
            unit.finishCopy(request, for: context.nexus, segmentsProcessed: 0, bytesCopied: 0, failed: true)
        default:
            break
        }
    }
}

extension CommandContext {
    /// The initiator's name, for log lines about its commands.
    var logMetadata: Logger.Metadata { ["initiator": "\(nexus.initiatorName)"] }
}
