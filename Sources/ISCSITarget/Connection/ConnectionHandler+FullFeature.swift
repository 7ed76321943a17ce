import DeviceServer
import ISCSI
import NIOCore
import SCSI

/// The full feature phase: CmdSN ordering and the requests other than SCSI commands (which
/// `FullFeatureState.route` sends here).
extension ConnectionHandler {
    // MARK: CmdSN ordering (RFC 7143 section 4.2.2.1)

    /// Delivers a request now (immediate, or its CmdSN's turn), parks it until its turn (which
    /// may come through another connection of the session), or ignores it when it is outside
    /// the window, as the RFC requires. Requests of other connections that it unblocks go to
    /// their own connections.
    func sequenceRequest(_ pdu: PDU) {
        let h = pdu.header
        if h.isImmediate {
            deliver(pdu)
            return
        }
        guard let sequencer else { return }
        switch sequencer.arrive(pdu, connection: connectionID) {
        case let .deliver(unblocked):
            deliver(pdu)
            if !unblocked.isEmpty {
                for mine in sequencer.handOff(unblocked, from: connectionID) { deliver(mine) }
            }
        case .parked:
            break
        case .duplicate:
            if let dropped = ignoredCommandLog.admit(at: .now()) {
                logger.warning("CmdSN \(h.cmdSN) received twice; ignoring the second\(Self.droppedNote(dropped))")
            }
            forgetIgnored(h)
        case let .outOfWindow(exp, max):
            if let dropped = ignoredCommandLog.admit(at: .now()) {
                logger.warning("CmdSN \(h.cmdSN) outside the window [\(exp), \(max)]; ignored\(Self.droppedNote(dropped))")
            }
            forgetIgnored(h)
        }
    }

    /// "(and N more like it)" for a rate-limited warning.
    static func droppedNote(_ dropped: Int) -> String {
        dropped > 0 ? " (\(dropped) more ignored commands not logged)" : ""
    }

    /// An ignored SCSI command leaves no task behind (its ITT stays free, its data goes).
    private func forgetIgnored(_ h: BasicHeaderSegment) {
        guard h.initiatorOpcode == .scsiCommand, let task = tasks[h.initiatorTaskTag], task.cmdSN == h.cmdSN,
              task.prepared == nil else { return }
        task.aborted = true
        tasks[h.initiatorTaskTag] = nil
    }

    func deliver(_ item: CommandSequencer.Item) {
        switch item {
        case let .request(pdu): deliver(pdu)
        case .skipped: break
        }
    }

    func deliver(_ pdu: PDU) {
        switch pdu.header.initiatorOpcode {
        case .scsiCommand: startCommand(pdu.header)
        case .nopOut: answerNop(pdu)
        case .taskManagementRequest: manageTasks(pdu.header)
        case .textRequest: answerText(pdu)
        case .logoutRequest: logout(pdu.header)
        default: break
        }
    }

    // MARK: NOP

    private func answerNop(_ pdu: PDU) {
        let h = pdu.header
        // Echo the ping data, truncated to what the initiator can receive.
        var data = pdu.data
        let limit = Int(parameters.initiatorMaxRecvDataSegmentLength)
        if data.readableBytes > limit { data = data.getSlice(at: data.readerIndex, length: limit)! }
        let seq = nextStatus()
        send(TargetPDU.nopIn(itt: h.initiatorTaskTag, ttt: reservedTag, lun: h.lun, seq: seq, dataLength: data.readableBytes),
             data: data)
    }

    // MARK: Logout (RFC 7143 section 11.14)

    /// Reason 0 closes the session (every connection of it), reason 1 the connection whose
    /// CID the request names (this one or another of the session: response 1 if none has it).
    private func logout(_ h: BasicHeaderSegment) {
        registry.activity.logout(target: target?.name)
        var response: UInt8 = 0
        var closesThis = true
        var others: [SessionRegistry.ConnectionHandle] = []
        switch h.logoutReason {
        case 0:
            others = registry.siblings(of: connectionID).map(\.handle)
        case 1 where h.connectionID != machine.session?.cid:
            closesThis = false
            if let other = registry.siblings(of: connectionID).first(where: { $0.cid == h.connectionID }) {
                others = [other.handle]
            } else {
                response = 1  // CID not found
            }
        case 1:
            break
        case 2:
            // Connection recovery is not supported at ErrorRecoveryLevel 0. Under MC/S the
            // request comes on a healthy connection about another: this one stays.
            response = 2
            closesThis = false
        default:
            response = 3
            closesThis = false
        }
        logger.info("logout (reason \(h.logoutReason), CID \(h.connectionID))")
        if closesThis { abortAll(where: { _ in true }) }
        // The other connections' tasks end with them, without responses.
        for other in others { other.close() }
        let seq = nextStatus()
        send(TargetPDU.logoutResponse(itt: h.initiatorTaskTag, response: response, seq: seq,
                                      time2Wait: UInt16(parameters.defaultTime2Wait),
                                      time2Retain: UInt16(parameters.defaultTime2Retain)))
        if closesThis { closeAfterFlush() }
    }

    // MARK: Task management (RFC 7143 section 11.5)

    private func manageTasks(_ h: BasicHeaderSegment) {
        let function = TaskManagementFunction(rawValue: h.taskFunction)
        registry.activity.taskManagement(target: target?.name, function: function)
        var response = TaskManagementResponse.functionComplete
        switch function {
        case .abortTask:
            let stillToCome = h.referencedTaskTag != reservedTag && sequencer?.isStillToCome(h.refCmdSN) == true
            if let task = tasks[h.referencedTaskTag], task.lunField == h.lun {
                abort(task)
            } else if h.referencedTaskTag != reservedTag, case let siblings = registry.siblings(of: connectionID),
                      !siblings.isEmpty {
                // MC/S: the task may have come on another connection of the session.
                let asks = siblings.compactMap { $0.handle.abortTask?(h.referencedTaskTag, h.lun) }
                EventLoopFuture.whenAllComplete(asks, on: context.eventLoop).assumeIsolated().whenSuccess { [self] results in
                    let found = results.contains { (try? $0.get()) == true }
                    if !found && stillToCome { considerReceived(h) }
                    answerTaskManagement(h, function: function,
                                         response: found || stillToCome ? .functionComplete : .taskDoesNotExist)
                }
                return
            } else if stillToCome {
                // Not received yet: complete, and the command will be ignored when it comes.
                considerReceived(h)
                response = .functionComplete
            } else {
                response = .taskDoesNotExist
            }
        case .abortTaskSet:
            if let unit = target?.units[LUNEncoding.decode(h.lun) ?? UInt64.max] {
                abortAll(where: { $0.lunField == h.lun })
                // The task set of this I_T nexus includes the other connections' tasks (MC/S).
                let asks = registry.siblings(of: connectionID).compactMap { $0.handle.abortTasks?(unit) }
                if !asks.isEmpty {
                    EventLoopFuture.andAllComplete(asks, on: context.eventLoop).assumeIsolated().whenComplete { [self] _ in
                        answerTaskManagement(h, function: function, response: .functionComplete)
                    }
                    return
                }
            } else {
                response = .lunDoesNotExist
            }
        case .clearTaskSet, .logicalUnitReset:
            // The task set is shared by every I_T nexus (TST=0): other sessions' tasks on
            // the LU go too, and a LU reset resets its state (reservations, unit attentions).
            if let unit = target?.units[LUNEncoding.decode(h.lun) ?? UInt64.max] {
                abortAll(where: { $0.lunField == h.lun })
                _ = registry.abortTasks(onTarget: target!.name, unit: unit, except: connectionID)
                if function == .logicalUnitReset {
                    unit.logicalUnitReset(by: nexus)
                } else {
                    unit.clearTaskSet(by: nexus)
                }
            } else {
                response = .lunDoesNotExist
            }
        case .targetWarmReset where target?.allowsTargetReset == false,
             .targetColdReset where target?.allowsTargetReset == false:
            // `target-reset refuse`: one initiator may not reset the LUs under every other
            // one, nor close their sessions.
            logger.warning("TARGET \(function == .targetColdReset ? "COLD" : "WARM") RESET refused (target-reset refuse)")
            response = .functionAuthorizationFailed
        case .targetWarmReset, .targetColdReset:
            abortAll(where: { _ in true })
            if let target {
                _ = registry.abortTasks(onTarget: target.name, unit: nil, except: connectionID)
                for unit in target.units.values { unit.targetReset(by: nexus) }
                if function == .targetColdReset {
                    // A cold reset ends every I_T nexus of the target (RFC 7143 11.5.1).
                    for other in registry.connections(onTarget: target.name, except: connectionID) { other.close() }
                }
            }
        case .clearACA:
            response = .functionNotSupported
        case .taskReassign:
            response = .taskAllegianceReassignmentNotSupported
        case nil:
            response = .functionNotSupported
        }
        answerTaskManagement(h, function: function, response: response)
    }

    /// ABORT TASK for a command still to come: its CmdSN counts as received (RFC 7143 11.5.1).
    private func considerReceived(_ h: BasicHeaderSegment) {
        guard let sequencer else { return }
        for mine in sequencer.handOff(sequencer.markReceived(h.refCmdSN, itt: h.referencedTaskTag), from: connectionID) {
            deliver(mine)
        }
    }

    private func answerTaskManagement(_ h: BasicHeaderSegment, function: TaskManagementFunction?,
                                      response: TaskManagementResponse) {
        guard machine.isFullFeature else { return }
        logger.info("task management function \(h.taskFunction) -> \(response)")
        let seq = nextStatus()
        send(TargetPDU.taskManagementResponse(itt: h.initiatorTaskTag, response: response, seq: seq))
        // A cold reset that happened ends this connection too (RFC 7143 11.5.1); a refused one not.
        if function == .targetColdReset && response == .functionComplete { closeAfterFlush() }
    }

    func abort(_ task: SCSITask) {
        task.aborted = true
        tasks[task.itt] = nil
        releaseWindowPlace(task)
        if task.prepared == nil, !task.isImmediate {
            // Still waiting for its CmdSN: let the number pass without running it.
            sequencer?.neutralize(cmdSN: task.cmdSN, itt: task.itt)
        }
    }

    func abortAll(where predicate: (SCSITask) -> Bool) {
        for task in tasks.values where predicate(task) { abort(task) }
    }
}
