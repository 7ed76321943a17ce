import ISCSI
import ISCSINames
import SCSI
import NIOCore

extension ConnectionHandler {
    /// What the login machine decided about a Login Request.
    func carryOut(_ step: LoginStateMachine.Step) {
        switch step {
        case let .respond(response):
            sendLoginResponse(response)
        case let .fail(response, reason):
            // The reason quotes what the initiator sent: escaped, as everything from the network.
            logger.warning("login failed: \(UntrustedText.escaped(reason)) -> \(response.status)",
                           metadata: ["initiator": "\(UntrustedText.escaped(machine.initiatorNameSoFar))"])
            registry.activity.login(target: machine.targetNameSoFar, outcome: .init(response.status))
            if response.status == .authenticationFailure {
                let (delay, notice) = registry.authenticationFailed(from: peerAddress)
                if let notice { logger.warning("\(notice)") }
                if delay > .zero {
                    // Nothing more is read; the answer goes out after the delay, then the close.
                    let frame = loginResponseFrame(response)
                    machine.close()
                    context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
                        send(frame.header, bytes: frame.keys)
                        closeAfterFlush()
                    }
                    return
                }
            }
            sendLoginResponse(response)
            closeAfterFlush()
        case let .complete(response, outcome):
            sendLoginResponse(response)
            enterFullFeature(outcome, tsih: response.tsih)
        }
    }

    private func sendLoginResponse(_ r: LoginStateMachine.Response) {
        let frame = loginResponseFrame(r)
        send(frame.header, bytes: frame.keys)
    }

    /// The Login Response PDU for `r`, with its StatSN taken now.
    private func loginResponseFrame(_ r: LoginStateMachine.Response) -> (header: BasicHeaderSegment, keys: [UInt8]) {
        let seq = nextStatus()
        let keys = r.keys.encoded()
        let header = TargetPDU.loginResponse(transit: r.transit, currentStage: r.currentStage, nextStage: r.nextStage,
                                             isid: r.isid, tsih: r.tsih, itt: r.itt, seq: seq,
                                             statusClass: r.status.statusClass, statusDetail: r.status.detail,
                                             dataLength: keys.count)
        return (header, keys)
    }

    private func enterFullFeature(_ outcome: LoginOutcome, tsih: UInt16) {
        loginTimer?.cancel()
        loginTimer = nil
        registry.loginEnded(connection: connectionID)
        var parameters = outcome.parameters
        if outcome.requestedTSIH != 0, let session = registry.sessionParameters(tsih) {
            // A joining connection negotiated only its own keys; the rest are the session's.
            parameters = session.joined(by: outcome.parameters)
        }
        // The session's window: made by its leading connection, joined by the others.
        let firstCmdSN = machine.leadingCmdSN ?? outcome.initialCmdSN
        let isDiscovery: Bool
        if case .discovery = outcome.sessionType { isDiscovery = true } else { isDiscovery = false }
        machine.enterFullFeature(FullFeatureState(tsih: tsih, cid: outcome.connectionID,
                                                  initiatorName: outcome.initiatorName, isDiscovery: isDiscovery,
                                                  authenticatedUser: outcome.authenticatedUser),
                                 parameters: parameters)
        sequencer = registry.sequencer(forSession: tsih) {
            CommandSequencer(firstCmdSN: firstCmdSN, window: settings.commandWindow)
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        sequencer?.attach(connection: connectionID) { item in
            loop.execute { bound.value.deliverFromSession(item) }
        }
        logger[metadataKey: "initiator"] = "\(outcome.initiatorName)"
        logger[metadataKey: "session"] = "\(tsih)"
        logger[metadataKey: "isid"] = "\(String(format: "%012llx", outcome.isid))"
        switch outcome.sessionType {
        case .discovery:
            registry.activity.login(target: nil, outcome: .ok)
            logger.info("discovery session started")
        case let .normal(name):
            // A reload may have changed the target while this login ran: its rules are
            // checked again against the catalog the session starts with.
            let current = registry.catalog.target(named: name)
            if let current, !current.stillAdmits(initiatorName: outcome.initiatorName, address: peerAddress,
                                                 user: outcome.authenticatedUser, admittedUnder: current.authentication) {
                logger.warning("a reload during the login no longer admits this initiator; closing")
                registry.activity.login(target: name, outcome: .aclRefused)
                closeAfterFlush()
                return
            }
            target = current
            registry.activity.login(target: current?.name, outcome: current == nil ? .other : .ok)
            nexus = target.map {
                NexusIdentity.session(initiatorName: outcome.initiatorName, isid: outcome.isid, target: $0)
            }
            logger[metadataKey: "target"] = "\(name)"
            logger.info("session started", metadata: [
                "HeaderDigest": "\(parameters.headerDigest)", "DataDigest": "\(parameters.dataDigest)",
                "MaxBurstLength": "\(parameters.maxBurstLength)", "FirstBurstLength": "\(parameters.firstBurstLength)",
                "InitialR2T": "\(parameters.initialR2T)", "ImmediateData": "\(parameters.immediateData)",
                "MaxRecvDataSegmentLength": "\(parameters.initiatorMaxRecvDataSegmentLength)",
            ])
        }
        // Digests and our receive limit apply from the first PDU after the final Login
        // Response (RFC 7143 section 13.1, 13.12).
        framer.parser = PDUParser(headerDigest: parameters.headerDigest, dataDigest: parameters.dataDigest,
                                  maxDataSegmentLength: Int(parameters.targetMaxRecvDataSegmentLength))
        serializer.headerDigest = parameters.headerDigest
        serializer.dataDigest = parameters.dataDigest
        startPings()
    }

    /// A request of this connection whose turn came up through another connection.
    func deliverFromSession(_ item: CommandSequencer.Item) {
        guard machine.isFullFeature else {
            // Closed meanwhile: a SCSI command gives its place in the window back.
            if case let .request(pdu) = item, pdu.header.initiatorOpcode == .scsiCommand { sequencer?.commandEnded() }
            return
        }
        deliver(item)
    }

    private func startPings() {
        guard settings.nopInterval > 0 else { return }
        schedulePing()
    }

    private func schedulePing() {
        // Checked at a fraction of the interval so that a dead peer is noticed close to the
        // configured nop-timeout.
        let tick = TimeAmount.milliseconds(max(250, min(settings.nopInterval, settings.nopTimeout) * 1000 / 4))
        pingTimer = context.eventLoop.assumeIsolated().scheduleTask(in: tick) { [self] in
            checkLiveness()
            if machine.isFullFeature { schedulePing() }
        }
    }

    /// Pings an idle initiator with a NOP-In and drops the connection when a ping goes
    /// unanswered (any PDU from the initiator counts as an answer).
    private func checkLiveness() {
        guard machine.isFullFeature else { return }
        let now = NIODeadline.now()
        // A peer that sends but never reads would keep its reads waiting forever.
        if output.isStalled(longerThan: .seconds(settings.nopTimeout), at: now) {
            logger.warning("initiator has not read its socket for \(settings.nopTimeout) s; dropping the connection")
            closeNow(reason: "output stalled")
            return
        }
        failCommandsWaitingForData(longerThan: .seconds(settings.nopTimeout), at: now)
        switch liveness.check(at: now) {
        case .wait:
            break
        case .ping:
            send(TargetPDU.nopIn(itt: reservedTag, ttt: allocateTransferTag(), lun: 0, seq: sequence, dataLength: 0))
        case .gone:
            logger.warning("initiator did not answer a NOP-In within \(settings.nopTimeout) s; dropping the connection")
            closeNow(reason: "ping timeout")
        }
    }

    func allocateTransferTag() -> UInt32 {
        machine.allocateTransferTag()
    }

    /// Server shutdown: ask the initiator to log out (Async Message event 1) and give it a
    /// moment before the server closes the connection anyway.
    func requestLogout() {
        guard machine.isFullFeature else {
            closeNow(reason: "server shutting down")
            return
        }
        let seq = nextStatus()
        send(TargetPDU.asyncMessage(event: 1, seq: seq, parameter3: 2))
    }
}
