import Glibc
import ISCSI
import NIOCore
import SCSI
import Storage

/// SCSI commands: arrival, decoding in CmdSN order, storage I/O, Data-In, R2T and status.
extension ConnectionHandler {
    static let statusGood: UInt8 = 0x00
    static let statusCheckCondition: UInt8 = 0x02
    static let statusReservationConflict: UInt8 = 0x18
    /// ABORTED COMMAND, DATA PHASE ERROR: the Data-Out sequence was broken.
    static let dataPhaseError = SenseData(key: .abortedCommand, asc: 0x4b, ascq: 0x00)

    /// A SCSI Command PDU arrived: the task exists from now on (so unsolicited Data-Out can
    /// attach to it), but it runs only when its CmdSN comes up.
    func arriveCommand(_ pdu: PDU) {
        let h = pdu.header
        guard tasks[h.initiatorTaskTag] == nil else {
            logger.warning("initiator task tag 0x\(String(h.initiatorTaskTag, radix: 16)) already in use")
            sendReject(.taskInProgress, header: h)
            return
        }
        let immediateLength = pdu.data.readableBytes
        let edtl = Int(h.expectedDataTransferLength)
        if immediateLength > 0 && (!h.writeFlag || !parameters.immediateData || immediateLength > edtl
                                    || immediateLength > Int(parameters.firstBurstLength)) {
            logger.warning("immediate data not allowed here (\(immediateLength) bytes, EDTL \(edtl))")
            sendReject(.protocolError, header: h)
            return
        }
        let unsolicited: Int
        if !h.writeFlag {
            unsolicited = 0
        } else if parameters.initialR2T {
            unsolicited = immediateLength
        } else {
            unsolicited = min(Int(parameters.firstBurstLength), edtl)
        }
        let unit = target?.units[LUNEncoding.decode(h.lun) ?? UInt64.max]
        let task = SCSITask(header: h, unit: unit, unsolicitedLength: unsolicited)
        if immediateLength > 0 { _ = task.accept(pdu.data, at: 0) }
        tasks[h.initiatorTaskTag] = task
        sequenceRequest(PDU(header: h))
    }

    /// The command's turn: decode the CDB and act on it.
    func startCommand(_ h: BasicHeaderSegment) {
        guard let task = tasks[h.initiatorTaskTag], !task.aborted else {
            // Aborted between its CmdSN's turn and now: its place in the window goes back.
            if !h.isImmediate { sequencer?.commandEnded() }
            return
        }
        task.holdsWindow = !task.isImmediate
        if task.failedSequence {
            complete(task, sense: Self.dataPhaseError)
            return
        }
        let cdb = CDB(high: h.cdbHigh, low: h.cdbLow)
        let commandContext = commandContext(for: h)
        let action = task.unit?.decode(cdb, context: commandContext)
            ?? SCSICommandDecoder.decodeForMissingLUN(cdb, context: commandContext)
        task.action = action
        let blockSize = task.unit?.blockSize ?? 512

        switch action {
        case let .dataIn(bytes):
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            sendData(buffer, task: task, commandLength: bytes.count)
        case .good:
            complete(task, status: Self.statusGood, commandLength: 0)
        case let .checkCondition(sense):
            complete(task, sense: sense)
        case .reservationConflict:
            complete(task, status: Self.statusReservationConflict, commandLength: 0)
        case let .sanitize(plan, immediate):
            sanitize(task, plan, immediate: immediate, commandLength: 0)
        case .abortTasks, .extendedCopy:
            // Only the second phase of a parameter-list command returns them.
            assertionFailure("\(action) from decode")
            complete(task, status: Self.statusGood, commandLength: 0)
        case let .read(lba, blocks, _):
            let length = Int(blocks) * blockSize
            let transfer = min(length, task.expectedLength)
            guard transfer > 0, let unit = task.unit else {
                complete(task, status: Self.statusGood, commandLength: length)
                return
            }
            task.executing = true
            unit.device.read(offset: lba * UInt64(blockSize), length: transfer, on: context.eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    guard !task.aborted else { return }
                    switch result {
                    case let .success(buffer):
                        sendData(buffer, task: task, commandLength: length)
                    case let .failure(error):
                        storageFailed(task, error, sense: .unrecoveredReadError)
                    }
                }
        case .writeSame(_, _, true, _):
            performDataOut(task)
        case let .lbaStatus(lba, allocation):
            guard let unit = task.unit, let store = unit.device as? Deallocating else {
                return complete(task, sense: .internalTargetFailure)
            }
            let blockSize = UInt64(unit.blockSize)
            let remaining = (unit.info.blockCount - lba) * blockSize
            task.executing = true
            store.allocation(at: lba * blockSize, length: remaining, on: context.eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    guard !task.aborted else { return }
                    switch result {
                    case let .success(extent):
                        let blocks = UInt32(clamping: max(1, extent.length / blockSize))
                        let bytes = GetLBAStatusCommand.response(lba: lba, blocks: blocks, deallocated: !extent.mapped,
                                                                 allocation: allocation)
                        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
                        buffer.writeBytes(bytes)
                        sendData(buffer, task: task, commandLength: bytes.count)
                    case let .failure(error):
                        storageFailed(task, error, sense: .unrecoveredReadError)
                    }
                }
        case .deallocate:
            // Only the second phase of UNMAP returns it.
            assertionFailure("deallocate from decode")
            complete(task, status: Self.statusGood, commandLength: 0)
        case .write, .writeAndVerify, .verify(_, _, true), .parameterData, .writeSame, .compareAndWrite, .orWrite:
            task.wanted = min(action.transferLength(blockSize: blockSize), task.expectedLength)
            task.trimToWanted()
            task.nextR2TOffset = min(task.unsolicitedLength, task.wanted)
            if task.hasAllData {
                performDataOut(task)
            } else {
                solicitData(task)
            }
        case .verify:
            complete(task, status: Self.statusGood, commandLength: 0)
        case .synchronizeCache:
            guard let unit = task.unit else { return complete(task, status: Self.statusGood, commandLength: 0) }
            task.executing = true
            unit.device.flush(on: context.eventLoop).assumeIsolated().whenComplete { [self] result in
                guard !task.aborted else { return }
                switch result {
                case .success: complete(task, status: Self.statusGood, commandLength: 0)
                case let .failure(error): storageFailed(task, error, sense: .writeError)
                }
            }
        }
    }

    // MARK: Data-Out

    /// Sends R2Ts for the data not yet asked for, up to MaxOutstandingR2T bursts of at most
    /// MaxBurstLength each (RFC 7143 section 11.8).
    func solicitData(_ task: SCSITask) {
        let maxBurst = Int(parameters.maxBurstLength)
        while task.outstandingR2Ts.count < Int(parameters.maxOutstandingR2T), task.nextR2TOffset < task.wanted {
            let length = min(maxBurst, task.wanted - task.nextR2TOffset)
            let ttt = allocateTransferTag()
            send(TargetPDU.readyToTransfer(itt: task.itt, lun: task.lunField, ttt: ttt, r2tSN: task.nextR2TSN,
                                           offset: UInt32(task.nextR2TOffset), length: UInt32(length), seq: sequence))
            task.outstandingR2Ts[ttt] = (task.nextR2TOffset + length, 0)
            task.nextR2TSN &+= 1
            task.nextR2TOffset += length
        }
    }

    func receiveDataOut(_ pdu: PDU) {
        let h = pdu.header
        guard let task = tasks[h.initiatorTaskTag] else {
            // The command already finished (e.g. CHECK CONDITION before its data came): drop.
            logger.debug("Data-Out for unknown task 0x\(String(h.initiatorTaskTag, radix: 16)); ignored")
            return
        }
        let ttt = h.targetTransferTag
        let expectedDataSN: UInt32
        if ttt != reservedTag {
            guard let burst = task.outstandingR2Ts[ttt] else {
                logger.warning("Data-Out with unknown target transfer tag 0x\(String(ttt, radix: 16))")
                sendReject(.protocolError, header: h)
                return
            }
            guard Int(h.bufferOffset) + pdu.data.readableBytes <= burst.end else {
                sendReject(.protocolError, header: h)
                return
            }
            expectedDataSN = burst.nextDataSN
            task.outstandingR2Ts[ttt]?.nextDataSN &+= 1
        } else {
            guard Int(h.bufferOffset) + pdu.data.readableBytes <= task.unsolicitedLength else {
                logger.warning("unsolicited Data-Out beyond FirstBurstLength")
                sendReject(.protocolError, header: h)
                return
            }
            expectedDataSN = task.unsolicitedDataSN
            task.unsolicitedDataSN &+= 1
        }
        guard h.dataSN == expectedDataSN else {
            // A lost, repeated or reordered Data-Out. At ErrorRecoveryLevel 0 the command
            // cannot be recovered; it ends with CHECK CONDITION and nothing is written, while
            // the connection (and the initiator's other commands) carry on. Later Data-Out
            // for the finished task is ignored.
            logger.warning("Data-Out DataSN \(h.dataSN), expected \(expectedDataSN); failing the command")
            if task.action == nil {
                // Not decoded yet (waiting for its CmdSN): it will answer when its turn comes.
                task.failedSequence = true
            } else if !task.executing {
                complete(task, sense: Self.dataPhaseError)
            }
            return
        }
        guard task.accept(pdu.data, at: Int(h.bufferOffset)) else {
            logger.warning("Data-Out at offset \(h.bufferOffset) out of order (have \(task.arrived) bytes)")
            sendReject(.protocolError, header: h)
            return
        }
        if h.isFinal && ttt != reservedTag {
            task.outstandingR2Ts[ttt] = nil
        }
        guard task.action != nil, !task.executing else { return }
        if task.hasAllData {
            performDataOut(task)
        } else if h.isFinal {
            solicitData(task)
        }
    }

    /// The context a command is decoded in: the target's LUNs, the I_T nexus it came on.
    func commandContext(for h: BasicHeaderSegment) -> CommandContext {
        CommandContext(lunList: target?.lunList ?? [], expectedDataTransferLength: h.expectedDataTransferLength,
                       portalGroupTag: TargetPort.portalGroupTag, nexus: nexus ?? .unspecified)
    }

    /// All the data of a write/verify (or a parameter list) is here: hand it on.
    func performDataOut(_ task: SCSITask) {
        guard let action = task.action, let unit = task.unit else {
            if task.action != nil { complete(task, sense: .lunNotSupported) }
            return
        }
        task.executing = true
        let blockSize = unit.blockSize
        let commandLength = action.transferLength(blockSize: blockSize)
        let loop = context.eventLoop
        switch action {
        case let .write(lba, _, fua):
            guard task.kept > 0 else { return complete(task, status: Self.statusGood, commandLength: commandLength) }
            let offset = lba * UInt64(blockSize)
            let chunks = task.chunks
            lockRange(unit, offset: offset, length: task.kept, exclusive: false).flatMap { id in
                unit.device.write(offset: offset, buffers: chunks, forceUnitAccess: fua, on: loop)
                    .always { _ in unit.writeRanges.release(id) }
            }
                .assumeIsolated().whenComplete { [self] result in
                    guard !task.aborted else { return }
                    switch result {
                    case .success: complete(task, status: Self.statusGood, commandLength: commandLength)
                    case let .failure(error): storageFailed(task, error, sense: .writeError)
                    }
                }
        case let .writeAndVerify(lba, _, byteCheck):
            guard task.kept > 0 else { return complete(task, status: Self.statusGood, commandLength: commandLength) }
            let offset = lba * UInt64(blockSize)
            let chunks = task.chunks, length = task.kept
            // Held shared from the write to the check, like any write: a COMPARE AND WRITE on
            // these blocks waits for it (and the check sees this command's data, not a CAW's).
            lockRange(unit, offset: offset, length: length, exclusive: false).flatMap { id in
                unit.device.write(offset: offset, buffers: chunks, forceUnitAccess: true, on: loop)
                    .flatMap { () -> EventLoopFuture<ByteBuffer?> in
                        byteCheck ? unit.device.read(offset: offset, length: length, on: loop).map { Optional($0) }
                                  : loop.makeSucceededFuture(nil)
                    }
                    .always { _ in unit.writeRanges.release(id) }
            }
                .assumeIsolated().whenComplete { [self] result in
                    guard !task.aborted else { return }
                    switch result {
                    case let .success(medium):
                        if let medium, let at = firstDifference(medium, task.chunks) {
                            complete(task, sense: .miscompare(offset: UInt64(at)))
                        } else {
                            complete(task, status: Self.statusGood, commandLength: commandLength)
                        }
                    case let .failure(error): storageFailed(task, error, sense: .writeError)
                    }
                }
        case let .verify(lba, _, _):
            guard task.kept > 0 else { return complete(task, status: Self.statusGood, commandLength: commandLength) }
            unit.device.read(offset: lba * UInt64(blockSize), length: task.kept, on: loop)
                .assumeIsolated().whenComplete { [self] result in
                    guard !task.aborted else { return }
                    switch result {
                    case let .success(medium):
                        if let at = firstDifference(medium, task.chunks) {
                            complete(task, sense: .miscompare(offset: UInt64(at)))
                        } else {
                            complete(task, status: Self.statusGood, commandLength: commandLength)
                        }
                    case let .failure(error): storageFailed(task, error, sense: .unrecoveredReadError)
                    }
                }
        case let .writeSame(lba, blocks, zeros, unmap):
            // One block of pattern (zeros for NDOB), written over the range in chunks.
            var pattern = context.channel.allocator.buffer(capacity: blockSize)
            if zeros {
                pattern.writeRepeatingByte(0, count: blockSize)
            } else {
                guard task.kept >= blockSize else {
                    return complete(task, sense: SenseData(key: .illegalRequest, asc: 0x1A, ascq: 0x00))  // PARAMETER LIST LENGTH ERROR
                }
                for chunk in task.chunks { pattern.writeImmutableBuffer(chunk) }
                pattern = pattern.getSlice(at: pattern.readerIndex, length: blockSize)!
            }
            let range = (offset: lba * UInt64(blockSize), length: Int(blocks) * blockSize)
            // UNMAP on a thin LU: deallocate (it reads as zeros afterwards, LBPRZ).
            if unmap, let store = unit.device as? Deallocating, store.canDeallocate {
                return deallocate(task, store, [BlockRange(lba: lba, blocks: blocks)], commandLength: commandLength)
            }
            lockRange(unit, offset: range.offset, length: range.length, exclusive: false).assumeIsolated()
                .flatMap { [self] id in
                    writeRepeated(unit, pattern: pattern, from: lba, blocks: UInt64(blocks), on: loop)
                        .always { _ in unit.writeRanges.release(id) }
                }
                .whenComplete { [self] result in
                    guard !task.aborted else { return }
                    switch result {
                    case .success: complete(task, status: Self.statusGood, commandLength: zeros ? 0 : blockSize)
                    case let .failure(error): storageFailed(task, error, sense: .writeError)
                    }
                }
        case let .compareAndWrite(lba, blocks, fua):
            let length = Int(blocks) * blockSize
            guard task.kept == 2 * length else {
                // The initiator's expected length did not cover both halves.
                return complete(task, sense: .invalidFieldInCDB(byte: 13))
            }
            var both = context.channel.allocator.buffer(capacity: 2 * length)
            for chunk in task.chunks { both.writeImmutableBuffer(chunk) }
            let verify = both.getSlice(at: both.readerIndex, length: length)!
            let data = both.getSlice(at: both.readerIndex + length, length: length)!
            compareAndWrite(task, unit, offset: lba * UInt64(blockSize), verify: verify, data: data, fua: fua,
                            commandLength: commandLength)
        case let .orWrite(lba, _, fua):
            guard task.kept > 0 else { return complete(task, status: Self.statusGood, commandLength: commandLength) }
            var data = context.channel.allocator.buffer(capacity: task.kept)
            for chunk in task.chunks { data.writeImmutableBuffer(chunk) }
            orWrite(task, unit, offset: lba * UInt64(blockSize), data: data, fua: fua, commandLength: commandLength)
        case .parameterData:
            // An empty list goes on too: the decoder answers PARAMETER LIST LENGTH ERROR.
            var parameters: [UInt8] = []
            parameters.reserveCapacity(task.kept)
            for chunk in task.chunks { parameters += chunk.readableBytesView }
            let cdb = CDB(high: task.header.cdbHigh, low: task.header.cdbLow)
            unit.complete(cdb, parameters: parameters, context: commandContext(for: task.header), on: loop)
                .assumeIsolated().whenComplete { [self] result in
                    guard !task.aborted else {
                        // Aborted meanwhile: what the LU state already says has begun must
                        // still end (a sanitize runs on; a copy is marked over).
                        if case let .success(outcome) = result { abandon(outcome, unit) }
                        return
                    }
                    switch result {
                    case let .success(outcome): finishParameterCommand(task, outcome, commandLength: commandLength)
                    case let .failure(error): storageFailed(task, error, sense: .writeError)
                    }
                }
        default:
            break
        }
    }

    /// The outcome of an aborted command's parameter list, for what must not be left half done.
    func abandon(_ outcome: SCSIAction, _ unit: LogicalUnit) {
        switch outcome {
        case let .sanitize(plan, _):
            _ = unit.runSanitize(plan, on: context.eventLoop)
        case let .extendedCopy(request):
            unit.finishCopy(request, for: nexus ?? .unspecified, segmentsProcessed: 0, bytesCopied: 0, failed: true)
        default:
            break
        }
    }

    /// SANITIZE: started on the LU, detached from this task; GOOD at once with IMMED, else
    /// when it ends (MEDIUM ERROR, SANITIZE COMMAND FAILED if it failed).
    func sanitize(_ task: SCSITask, _ plan: SanitizePlan, immediate: Bool, commandLength: Int) {
        guard let unit = task.unit else { return complete(task, sense: .lunNotSupported) }
        let done = unit.runSanitize(plan, on: context.eventLoop)
        if immediate { return complete(task, status: Self.statusGood, commandLength: commandLength) }
        task.executing = true
        done.assumeIsolated().whenComplete { [self] result in
            guard !task.aborted else { return }
            switch result {
            case .success: complete(task, status: Self.statusGood, commandLength: commandLength)
            case let .failure(error): storageFailed(task, error, sense: .sanitizeCommandFailed)
            }
        }
    }

    /// UNMAP / WRITE SAME with UNMAP: the ranges one after the other, then GOOD.
    func deallocate(_ task: SCSITask, _ store: Deallocating, _ ranges: [BlockRange], commandLength: Int) {
        let loop = context.eventLoop
        let blockSize = UInt64(task.unit?.blockSize ?? 512)
        guard let unit = task.unit else { return complete(task, sense: .lunNotSupported) }
        var done = loop.makeSucceededVoidFuture()
        for range in ranges {
            let offset = range.lba * blockSize, length = UInt64(range.blocks) * blockSize
            // Held shared, like a write: a COMPARE AND WRITE on these blocks sees all or none.
            done = done.assumeIsolated().flatMap { [self] in
                lockRange(unit, offset: offset, length: Int(length), exclusive: false)
            }.flatMap { id in
                store.deallocate(offset: offset, length: length, on: loop).always { _ in unit.writeRanges.release(id) }
            }.nonisolated()
        }
        task.executing = true
        done.assumeIsolated().whenComplete { [self] result in
            guard !task.aborted else { return }
            switch result {
            case .success: complete(task, status: Self.statusGood, commandLength: commandLength)
            case let .failure(error): storageFailed(task, error, sense: .writeError)
            }
        }
    }

    /// Takes `length` bytes at `offset` in the LU's write ranges; the future carries the token
    /// to release (granted at once unless a COMPARE AND WRITE holds an overlapping range).
    func lockRange(_ unit: LogicalUnit, offset: UInt64, length: Int, exclusive: Bool) -> EventLoopFuture<UInt64> {
        let promise = context.eventLoop.makePromise(of: UInt64.self)
        unit.writeRanges.acquire(lo: offset, hi: offset + UInt64(length), exclusive: exclusive) { promise.succeed($0) }
        return promise.futureResult
    }

    /// COMPARE AND WRITE: the medium must equal `verify` (else MISCOMPARE at the first
    /// differing byte), then `data` is written.
    func compareAndWrite(_ task: SCSITask, _ unit: LogicalUnit, offset: UInt64, verify: ByteBuffer, data: ByteBuffer,
                         fua: Bool, commandLength: Int) {
        readModifyWrite(task, unit, offset: offset, length: verify.readableBytes, fua: fua,
                        commandLength: commandLength) { [self] medium in
            if let at = firstDifference(medium, [verify]) { return .failure(.miscompare(offset: UInt64(at))) }
            return .success(data)
        }
    }

    /// ORWRITE: the data is ORed into the medium.
    func orWrite(_ task: SCSITask, _ unit: LogicalUnit, offset: UInt64, data: ByteBuffer, fua: Bool, commandLength: Int) {
        readModifyWrite(task, unit, offset: offset, length: data.readableBytes, fua: fua,
                        commandLength: commandLength) { medium in
            var result = medium
            result.withUnsafeMutableReadableBytes { m in
                data.withUnsafeReadableBytes { d in
                    for i in 0..<min(m.count, d.count) { m[i] |= d[i] }
                }
            }
            return .success(result)
        }
    }

    /// Read, decide, write, with the range held exclusively throughout: no other write to
    /// these blocks can land between the read and the write. `decide` gives what to write,
    /// or the sense to answer with instead (nothing is written then).
    func readModifyWrite(_ task: SCSITask, _ unit: LogicalUnit, offset: UInt64, length: Int, fua: Bool,
                         commandLength: Int, decide: @escaping (ByteBuffer) -> Result<ByteBuffer, SenseData>) {
        let loop = context.eventLoop
        task.executing = true
        lockRange(unit, offset: offset, length: length, exclusive: true).assumeIsolated().whenSuccess { [self] id in
            unit.device.read(offset: offset, length: length, on: loop).assumeIsolated().whenComplete { [self] result in
                let medium: ByteBuffer
                switch result {
                case let .failure(error):
                    unit.writeRanges.release(id)
                    if !task.aborted { storageFailed(task, error, sense: .unrecoveredReadError) }
                    return
                case let .success(read):
                    medium = read
                }
                let data: ByteBuffer
                switch decide(medium) {
                case let .failure(sense):
                    unit.writeRanges.release(id)
                    if !task.aborted { complete(task, sense: sense) }
                    return
                case let .success(decided):
                    data = decided
                }
                unit.device.write(offset: offset, buffers: [data], forceUnitAccess: fua, on: loop)
                    .assumeIsolated().whenComplete { [self] result in
                        unit.writeRanges.release(id)
                        guard !task.aborted else { return }
                        switch result {
                        case .success: complete(task, status: Self.statusGood, commandLength: commandLength)
                        case let .failure(error): storageFailed(task, error, sense: .writeError)
                        }
                    }
            }
        }
    }

    /// WRITE SAME's writes: one buffer of up to 1 MiB of repeated pattern, written chunk after
    /// chunk (one at a time: a long WRITE SAME must not flood the device queue).
    func writeRepeated(_ unit: LogicalUnit, pattern: ByteBuffer, from lba: UInt64, blocks: UInt64,
                       on loop: EventLoop) -> EventLoopFuture<Void> {
        let blockSize = UInt64(pattern.readableBytes)
        let perChunk = max(1, min(blocks, (1 << 20) / blockSize))
        var chunk = context.channel.allocator.buffer(capacity: Int(perChunk * blockSize))
        for _ in 0..<perChunk { chunk.writeImmutableBuffer(pattern) }
        func write(from next: UInt64) -> EventLoopFuture<Void> {
            let end = lba + blocks
            guard next < end else { return loop.makeSucceededVoidFuture() }
            let count = min(perChunk, end - next)
            let slice = chunk.getSlice(at: chunk.readerIndex, length: Int(count * blockSize))!
            return unit.device.write(offset: next * blockSize, buffers: [slice], forceUnitAccess: false, on: loop)
                .flatMap { write(from: next + count) }
        }
        return write(from: lba)
    }

    /// The outcome of MODE SELECT or PERSISTENT RESERVE OUT once its parameter list arrived.
    func finishParameterCommand(_ task: SCSITask, _ outcome: SCSIAction, commandLength: Int) {
        switch outcome {
        case .good: complete(task, status: Self.statusGood, commandLength: commandLength)
        case let .checkCondition(sense): complete(task, sense: sense)
        case .reservationConflict: complete(task, status: Self.statusReservationConflict, commandLength: commandLength)
        case let .deallocate(ranges):
            guard let store = task.unit?.device as? Deallocating else { return complete(task, sense: .internalTargetFailure) }
            deallocate(task, store, ranges, commandLength: commandLength)
        case let .abortTasks(victims):
            // PREEMPT AND ABORT: the preempted nexuses' tasks on this LU end without a
            // response (TAS=0), wherever their connections run; then GOOD.
            let futures = registry.abortTasks(of: victims, unit: task.unit)
            EventLoopFuture.andAllComplete(futures, on: context.eventLoop).assumeIsolated().whenComplete { [self] _ in
                guard !task.aborted else { return }
                complete(task, status: Self.statusGood, commandLength: commandLength)
            }
        case let .extendedCopy(request):
            extendedCopy(task, request, commandLength: commandLength)
        case let .sanitize(plan, immediate):
            sanitize(task, plan, immediate: immediate, commandLength: commandLength)
        default:
            logger.error("unexpected outcome of a parameter list: \(outcome)")
            complete(task, sense: .internalTargetFailure)
        }
    }

    /// Offset of the first byte where `medium` differs from the received chunks.
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

    func storageFailed(_ task: SCSITask, _ error: Error, sense: SenseData) {
        logger.error("I/O error: \(error)", metadata: ["lun": "\(task.unit?.info.lun ?? 0)"])
        complete(task, sense: sense)
    }

    // MARK: Data-In and status

    /// Sends read data as Data-In PDUs of at most the initiator's MaxRecvDataSegmentLength,
    /// F on the last PDU of each MaxBurstLength sequence, and GOOD status with the residual
    /// in the last one (RFC 7143 section 11.7). `commandLength` is what the CDB asked for.
    func sendData(_ data: ByteBuffer, task: SCSITask, commandLength: Int) {
        let total = min(data.readableBytes, task.expectedLength)
        guard total > 0 else {
            complete(task, status: Self.statusGood, commandLength: commandLength)
            return
        }
        let segment = Int(parameters.initiatorMaxRecvDataSegmentLength)
        let burst = Int(parameters.maxBurstLength)
        let residual = residualFor(expected: task.expectedLength, command: commandLength)
        var offset = 0
        var dataSN: UInt32 = 0
        var burstUsed = 0
        while offset < total {
            let length = min(segment, total - offset, burst - burstUsed)
            let last = offset + length == total
            burstUsed += length
            let endOfBurst = last || burstUsed == burst
            if endOfBurst { burstUsed = 0 }
            let seq = last ? nextStatus() : sequence
            let header = TargetPDU.dataIn(itt: task.itt, lun: task.lunField, dataSN: dataSN, offset: UInt32(offset),
                                          length: length, final: endOfBurst, status: last ? Self.statusGood : nil,
                                          residual: residual, seq: seq)
            send(header, data: data.getSlice(at: data.readerIndex + offset, length: length)!)
            offset += length
            dataSN &+= 1
        }
        finish(task)
    }

    func residualFor(expected: Int, command: Int) -> TargetPDU.Residual {
        if expected > command { return .underflow(UInt32(expected - command)) }
        if expected < command { return .overflow(UInt32(command - expected)) }
        return .none
    }

    /// Status without data (or after Data-Out).
    func complete(_ task: SCSITask, status: UInt8, commandLength: Int) {
        let residual = residualFor(expected: task.expectedLength, command: commandLength)
        let seq = nextStatus()
        send(TargetPDU.scsiResponse(itt: task.itt, status: status, residual: residual, seq: seq, expDataSN: 0, dataLength: 0))
        finish(task)
    }

    /// CHECK CONDITION with sense data (RFC 7143 section 11.4.7: SenseLength then the sense).
    func complete(_ task: SCSITask, sense: SenseData) {
        // MODE SELECT can switch a LU to descriptor-format sense (control page D_SENSE).
        let bytes = sense.bytes(descriptorFormat: task.unit?.descriptorSense ?? false)
        var data = context.channel.allocator.buffer(capacity: bytes.count + 2)
        data.writeInteger(UInt16(bytes.count))
        data.writeBytes(bytes)
        // No data moved: the whole expected length is residual.
        let residual: TargetPDU.Residual = task.expectedLength > 0 ? .underflow(UInt32(task.expectedLength)) : .none
        let seq = nextStatus()
        send(TargetPDU.scsiResponse(itt: task.itt, status: Self.statusCheckCondition, residual: residual, seq: seq,
                                    expDataSN: 0, dataLength: data.readableBytes), data: data)
        finish(task)
    }

    /// The task is answered: it leaves the table and frees its slot in the CmdSN window.
    func finish(_ task: SCSITask) {
        tasks[task.itt] = nil
        if task.holdsWindow {
            task.holdsWindow = false
            sequencer?.commandEnded()
        }
    }
}
