import DeviceServer
import ISCSI
import Logging
import NIOCore
import SCSI

/// SCSI commands on the wire: arrival, the LU's decode in CmdSN order, R2T and Data-Out,
/// then Data-In and status. What a command does is the LU's business (`PreparedCommand`);
/// this side only moves its data.
extension ConnectionHandler {
    /// A SCSI Command PDU arrived: the task exists from now on (so unsolicited Data-Out can
    /// attach to it), but it runs only when its CmdSN comes up.
    func arriveCommand(_ pdu: PDU) {
        let h = pdu.header
        guard tasks[h.initiatorTaskTag] == nil else {
            logger.warning("initiator task tag 0x\(String(h.initiatorTaskTag, radix: 16)) already in use")
            sendReject(.taskInProgress, header: h)
            return
        }
        // Immediate commands bypass the CmdSN window: past the window's worth of tasks plus a
        // few, the RFC's answer (Reject, "too many immediate commands") instead of a task.
        if h.isImmediate && tasks.count >= Int(settings.commandWindow) + Self.immediateTaskAllowance {
            logger.debug("\(tasks.count) tasks open; immediate command rejected")
            sendReject(.immediateCommandReject, header: h)
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
        if immediateLength > 0 { task.dataOut.receiveImmediate(pdu.data) }
        tasks[h.initiatorTaskTag] = task
        sequenceRequest(PDU(header: h))
    }

    /// The command's turn: the LU decodes it and says what data it takes.
    func startCommand(_ h: BasicHeaderSegment) {
        guard let task = tasks[h.initiatorTaskTag], !task.aborted else {
            // Aborted between its CmdSN's turn and now: its place in the window goes back.
            if !h.isImmediate { sequencer?.commandEnded() }
            return
        }
        task.holdsWindow = !task.isImmediate
        if task.failedSequence {
            return complete(task, .dataPhaseError(for: task.unit, expected: task.expectedLength))
        }
        let cdb = CDB(high: h.cdbHigh, low: h.cdbLow)
        let commandContext = commandContext(for: h)
        let command = task.unit?.prepare(cdb, context: commandContext)
            ?? PreparedCommand.forMissingLUN(cdb, context: commandContext)
        task.prepared = command
        switch command.transfer {
        case .none:
            run(task, command)
        case let .dataOut(length):
            task.dataOut.plan(length)
            if task.dataOut.hasAllData {
                run(task, command)
            } else {
                task.waitingForDataSince = .now()
                solicitData(task)
            }
        }
    }

    /// Hands the command and its data to the LU; its completion goes out unless the task was
    /// aborted meanwhile.
    func run(_ task: SCSITask, _ command: PreparedCommand) {
        guard isAttached else { return }
        // A read waits while the peer does not drain its socket or enough Data-In is in the
        // making already (OutputBudget); it keeps its place in the CmdSN window meanwhile.
        if task.dataInLength > 0,
           output.waitingCount > 0 || !output.admits(task.dataInLength, writable: context.channel.isWritable) {
            output.wait(task)
            return
        }
        startExecution(task, command)
    }

    /// Counts the command's Data-In against the budget and hands it to the LU.
    private func startExecution(_ task: SCSITask, _ command: PreparedCommand) {
        output.started(task.dataInLength)
        task.dataInInFlight = task.dataInLength
        task.executing = true
        let loop = context.eventLoop
        command.unit?.metrics.executionStarted(on: loop)
        command.execute(dataOut: task.dataOut.chunks, task: task, services: self, on: loop)
            .assumeIsolated().whenComplete { [self] result in
                command.unit?.metrics.executionEnded(on: loop)
                defer { releaseDataIn(task) }
                guard !task.aborted else { return }
                switch result {
                case let .success(completion):
                    complete(task, completion)
                case let .failure(error):
                    // The LU turns every failure into a completion; this is the backstop.
                    logger.error("command ended without a completion: \(error)")
                    complete(task, .checkCondition(.internalTargetFailure, descriptorFormat: false,
                                                   expected: task.expectedLength))
                }
            }
    }

    /// The command's Data-In is on the channel (or it ended without): the next reads may start.
    private func releaseDataIn(_ task: SCSITask) {
        guard task.dataInInFlight > 0 else { return }
        output.finished(task.dataInInFlight)
        task.dataInInFlight = 0
        runWaitingCommands()
    }

    /// Starts the reads that waited, in order, as far as the budget and the socket allow.
    func runWaitingCommands() {
        guard isAttached else { return }
        while let task = output.next(writable: context.channel.isWritable, length: \.dataInLength) {
            guard !task.aborted, let command = task.prepared else { continue }
            startExecution(task, command)
        }
    }

    /// Immediate tasks a connection may have beyond its CmdSN window's worth.
    static let immediateTaskAllowance = 32

    /// Fails the commands whose Data-Out has not come for `timeout` (an initiator that sent
    /// a command and never its data would keep the task, its R2Ts and its window place).
    func failCommandsWaitingForData(longerThan timeout: TimeAmount, at now: NIODeadline) {
        for task in tasks.values {
            guard let since = task.waitingForDataSince, now - since > timeout, !task.aborted else { continue }
            logger.warning("no Data-Out for task 0x\(String(task.itt, radix: 16)) in \(timeout.nanoseconds / 1_000_000_000) s; failing it")
            task.waitingForDataSince = nil
            complete(task, .dataPhaseError(for: task.unit, expected: task.expectedLength))
        }
    }

    /// The context a command is decoded in: the target's LUNs, the I_T nexus it came on.
    func commandContext(for h: BasicHeaderSegment) -> CommandContext {
        CommandContext(lunList: target?.lunList ?? [], expectedDataTransferLength: h.expectedDataTransferLength,
                       portalGroupTag: target?.port.portalGroupTag ?? TargetPortalGroup.tag, nexus: nexus ?? .unspecified)
    }

    // MARK: Data-Out

    /// Sends R2Ts for the data not yet asked for (RFC 7143 section 11.8).
    func solicitData(_ task: SCSITask) {
        task.dataOut.solicit(maxBurst: Int(parameters.maxBurstLength), maxOutstanding: Int(parameters.maxOutstandingR2T),
                             nextTag: allocateTransferTag) { r2t in
            send(TargetPDU.readyToTransfer(itt: task.itt, lun: task.lunField, ttt: r2t.targetTransferTag, r2tSN: r2t.r2tSN,
                                           offset: UInt32(r2t.offset), length: UInt32(r2t.length), seq: sequence))
        }
    }

    func receiveDataOut(_ pdu: PDU) {
        let h = pdu.header
        guard let task = tasks[h.initiatorTaskTag] else {
            // The command already finished (e.g. CHECK CONDITION before its data came): drop.
            logger.debug("Data-Out for unknown task 0x\(String(h.initiatorTaskTag, radix: 16)); ignored")
            return
        }
        switch task.dataOut.receive(pdu.data, offset: Int(h.bufferOffset), dataSN: h.dataSN,
                                    targetTransferTag: h.targetTransferTag, isFinal: h.isFinal) {
        case .accepted:
            break
        case let .protocolError(reason):
            logger.warning("\(reason)")
            sendReject(.protocolError, header: h)
            return
        case let .outOfSequence(dataSN, expected):
            // The connection (and the initiator's other commands) carry on; later Data-Out
            // for the finished task is ignored.
            logger.warning("Data-Out DataSN \(dataSN), expected \(expected); failing the command")
            if task.prepared == nil {
                // Not decoded yet (waiting for its CmdSN): it will answer when its turn comes.
                task.failedSequence = true
            } else if !task.executing {
                complete(task, .dataPhaseError(for: task.unit, expected: task.expectedLength))
            }
            return
        }
        guard let command = task.prepared, !task.executing else { return }
        if task.dataOut.hasAllData {
            task.waitingForDataSince = nil
            run(task, command)
        } else {
            task.waitingForDataSince = .now()  // data is coming: the wait starts again
            if h.isFinal { solicitData(task) }
        }
    }

    // MARK: Data-In and status

    /// Sends a command's completion: Data-In PDUs of at most the initiator's
    /// MaxRecvDataSegmentLength, F on the last of each MaxBurstLength sequence and the status
    /// in the last one (RFC 7143 section 11.7); or a SCSI Response, with the sense data as its
    /// data segment (11.4.7: SenseLength, then the sense).
    func complete(_ task: SCSITask, _ completion: SCSICompletion) {
        guard isAttached else { return }
        // The answer reports the window without this command in it (MaxCmdSN one further).
        releaseWindowPlace(task)
        if logger.logLevel <= .trace { traceCompletion(task, completion) }
        task.prepared?.account(completion, latencyNanoseconds: UInt64(max(0, (NIODeadline.now() - task.arrived).nanoseconds)),
                               on: context.eventLoop)
        let residual = TargetPDU.Residual(completion.residual)
        if let data = completion.dataIn, data.readableBytes > 0, completion.status == .good {
            sendDataIn(data, task: task, residual: residual)
        } else if let sense = completion.sense {
            var data = context.channel.allocator.buffer(capacity: sense.count + 2)
            data.writeInteger(UInt16(sense.count))
            data.writeBytes(sense)
            let seq = nextStatus()
            send(TargetPDU.scsiResponse(itt: task.itt, status: completion.status.rawValue, residual: residual, seq: seq,
                                        expDataSN: 0, dataLength: data.readableBytes), data: data)
        } else {
            let seq = nextStatus()
            send(TargetPDU.scsiResponse(itt: task.itt, status: completion.status.rawValue, residual: residual, seq: seq,
                                        expDataSN: 0, dataLength: 0))
        }
        tasks[task.itt] = nil
    }

    /// `--log-level trace`: one line per command with what decides most interop questions:
    /// opcode, status, sense key and ASC/ASCQ; the logger's metadata names the I_T nexus
    /// (initiator, ISID, session) and the connection.
    private func traceCompletion(_ task: SCSITask, _ completion: SCSICompletion) {
        let cdb = task.header.cdbHigh
        var metadata: Logger.Metadata = [
            "itt": "0x\(String(task.itt, radix: 16))",
            "lun": "\(LUNEncoding.decode(task.lunField).map(String.init) ?? "invalid")",
            "opcode": "0x\(String(UInt8(truncatingIfNeeded: cdb >> 56), radix: 16))",
            "status": "\(completion.status)",
        ]
        if let sense = completion.sense, let key = SenseData.keyAndCodes(in: sense) {
            metadata["sense"] = "\(key.key)/\(String(format: "%02X/%02X", key.asc, key.ascq))"
        }
        logger.trace("command completed", metadata: metadata)
    }

    private func sendDataIn(_ data: ByteBuffer, task: SCSITask, residual: TargetPDU.Residual) {
        let total = data.readableBytes
        let segment = Int(parameters.initiatorMaxRecvDataSegmentLength)
        let burst = Int(parameters.maxBurstLength)
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
                                          length: length, final: endOfBurst,
                                          status: last ? SCSIStatus.good.rawValue : nil, residual: residual, seq: seq)
            send(header, data: data.getSlice(at: data.readerIndex + offset, length: length)!)
            offset += length
            dataSN &+= 1
        }
    }

    /// The task is answered or gone: its place in the CmdSN window is free again.
    func releaseWindowPlace(_ task: SCSITask) {
        if task.holdsWindow {
            task.holdsWindow = false
            sequencer?.commandEnded()
        }
    }
}

extension ConnectionHandler: TaskSetServices {
    var copyReachableUnits: [LogicalUnit] { target.map { Array($0.units.values) } ?? [] }

    func abortTasks(of nexuses: [NexusIdentity], on unit: LogicalUnit) -> EventLoopFuture<Void> {
        EventLoopFuture.andAllComplete(registry.abortTasks(of: nexuses, unit: unit), on: context.eventLoop)
    }
}

extension TargetPDU.Residual {
    init(_ residual: DeviceServer.Residual) {
        switch residual {
        case .none: self = .none
        case let .underflow(count): self = .underflow(count)
        case let .overflow(count): self = .overflow(count)
        }
    }
}
