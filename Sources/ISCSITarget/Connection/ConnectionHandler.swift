import DeviceServer
import Config
import ISCSI
import Logging
import NIOCore
import SCSI

/// One iSCSI connection: frames PDUs, runs the login, then the full feature phase of its
/// session. A session may have several connections (MC/S): they share the command window
/// (`CommandSequencer`), while each answers the commands that arrived on it (connection
/// allegiance). Everything here is confined to the channel's event loop; storage completes on
/// the same loop.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let settings: ServerRuntimeSettings
    let registry: SessionRegistry
    let connectionID: UInt64
    var logger: Logger
    var context: ChannelHandlerContext!

    /// The connection's protocol state: phase, StatSN, what the login settled.
    var machine: ConnectionStateMachine
    var framer = PDUFramer()
    var serializer = PDUSerializer()
    /// First the short deadline for the first whole PDU, then the login timeout.
    var loginTimer: Scheduled<Void>?
    /// Set until the first whole PDU arrives: a connection that sends nothing (or half a
    /// header) is closed after `firstPDUDeadline`, long before the login timeout.
    var awaitingFirstPDU = true
    /// When the connection was accepted.
    let accepted = NIODeadline.now()
    var liveness: Liveness
    var pingTimer: Scheduled<Void>?
    /// The initiator's IP address as bytes (4 or 16), for access rules.
    var peerAddress: [UInt8]?

    // The session this connection serves, from the full feature phase on.
    var target: ExportedTarget?
    /// The I_T nexus of a normal session (every command is decoded with it).
    var nexus: NexusIdentity?
    /// The session's command window, shared with its other connections.
    var sequencer: CommandSequencer?
    /// The commands that arrived on this connection and are not answered yet.
    var tasks: [UInt32: SCSITask] = [:]
    /// Reads in the making and commands waiting for the peer to drain its socket.
    var output = OutputBudget<SCSITask>(limit: ConnectionHandler.dataInLimit)

    /// Warnings about ignored commands (duplicate or outside the window), rate-limited.
    var ignoredCommandLog = LogRateLimit()

    // Output batching: flushed at the end of a read batch, or once after a batch of
    // completions (see `scheduleFlush`).
    var needsFlush = false
    var inChannelRead = false
    var flushScheduled = false

    init(settings: ServerRuntimeSettings, registry: SessionRegistry, logger: Logger) {
        self.settings = settings
        self.registry = registry
        self.connectionID = registry.makeConnectionID()
        // The first login response carries the connection's initial StatSN, picked at random.
        self.machine = ConnectionStateMachine(offer: settings.offer, initialStatSN: UInt32.random(in: 1...0x7fff_ffff))
        self.liveness = Liveness(interval: .seconds(settings.nopInterval), timeout: .seconds(settings.nopTimeout),
                                 now: .now())
        var logger = logger
        logger[metadataKey: "connection"] = "\(connectionID)"
        self.logger = logger
    }

    /// What the login settled (the RFC's defaults before).
    var parameters: OperationalParameters { machine.parameters }

    /// StatSN, ExpCmdSN and MaxCmdSN as the next PDU reports them.
    var sequence: TargetPDU.Sequence {
        let numbers: (expCmdSN: UInt32, maxCmdSN: UInt32)
        if let sequencer {
            numbers = sequencer.numbers
        } else if machine.joiningTSIH != 0, let session = registry.existingSequencer(machine.joiningTSIH) {
            // A connection joining a session reports the session's window from its login on.
            numbers = session.numbers
        } else {
            numbers = machine.loginNumbers(window: settings.commandWindow)
        }
        return TargetPDU.Sequence(statSN: machine.statSN, expCmdSN: numbers.expCmdSN, maxCmdSN: numbers.maxCmdSN)
    }

    // MARK: channel events

    /// The pipeline's context holds this handler and the handler holds the context: a cycle
    /// that outlives the connection (its buffers, tasks and session state with it) unless it
    /// is broken here. Nothing writes after this: the connection closed before its handler
    /// was removed, and every output path checks `isAttached` first.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Between `handlerAdded` and `handlerRemoved`: late completions find nothing to write to.
    var isAttached: Bool { context != nil }

    /// Data-In a connection may have being read at once before further reads wait (about
    /// 32 commands of 512 KiB: more than a QD32 initiator keeps in flight).
    static let dataInLimit = 16 << 20

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        output.writabilityChanged(to: writable, at: .now())
        if writable { runWaitingCommands() }
        context.fireChannelWritabilityChanged()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        var peerText = "?"
        if let remote = context.channel.remoteAddress {
            let host = remote.ipAddress ?? "?"
            peerText = host.contains(":") ? "[\(host)]:\(remote.port ?? 0)" : "\(host):\(remote.port ?? 0)"
            logger[metadataKey: "peer"] = "\(peerText)"
            peerAddress = remote.addressBytes
        }
        // [clients]: refused addresses are turned away before a single byte is read.
        if !settings.clientRules.isEmpty {
            guard let peer = peerAddress, AccessRule.admits(peer, rules: settings.clientRules) else {
                logger.warning("connection refused by the [clients] rules")
                machine.close()
                context.close(promise: nil)
                return
            }
        }
        let id = connectionID
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let refusal = registry.register(.init(
            id: id,
            requestLogout: { loop.execute { bound.value.requestLogout() } },
            close: { loop.execute { bound.value.closeNow(reason: "closed by the server") } },
            peer: peerText,
            localHost: context.channel.localAddress?.ipAddress,
            localPort: context.channel.localAddress?.port,
            abortTasks: { unit in
                loop.submit { bound.value.abortAll(where: { task in unit.map { task.unit === $0 } ?? true }) }
            },
            abortTask: { itt, lun in
                loop.submit {
                    guard let task = bound.value.tasks[itt], task.lunField == lun else { return false }
                    bound.value.abort(task)
                    return true
                }
            },
            adopt: { catalog in loop.submit { bound.value.adopt(catalog) } },
            taskCount: { unit in loop.submit { bound.value.tasks.values.count { $0.unit === unit } } }), from: peerAddress)
        if let refusal {
            if let unlogged = refusal.unlogged {
                let more = unlogged > 0 ? " (\(unlogged) more refused, not logged)" : ""
                logger.warning("connection refused: \(refusal.reason)\(more)")
            }
            registry.activity.connectionRefused()
            machine.close()
            context.close(promise: nil)
            return
        }
        let firstPDU = min(Self.firstPDUDeadline, .seconds(settings.loginTimeout))
        loginTimer = loop.assumeIsolated().scheduleTask(in: firstPDU) { [self] in
            guard awaitingFirstPDU else { return }
            // Debug only: a flood of such connections must not flood the log.
            logger.debug("no whole PDU within \(firstPDU.nanoseconds / 1_000_000) ms of the connection; dropping it")
            closeNow(reason: "no first PDU")
        }
        logger.debug("connection accepted")
    }

    /// How long a new connection may take to send its first whole PDU (a Login Request:
    /// initiators send it at once); at most the login timeout.
    static let firstPDUDeadline = TimeAmount.seconds(5)

    /// The first whole PDU arrived: the rest of the login has the login timeout, counted
    /// from the connection's start.
    func firstPDUArrived() {
        awaitingFirstPDU = false
        loginTimer?.cancel()
        let remaining = max(.zero, .seconds(settings.loginTimeout) - (NIODeadline.now() - accepted))
        loginTimer = context.eventLoop.assumeIsolated().scheduleTask(in: remaining) { [self] in
            if machine.isLoggingIn {
                logger.warning("login did not complete within \(settings.loginTimeout) s; dropping the connection")
                registry.activity.login(target: machine.targetNameSoFar, outcome: .other)
                closeNow(reason: "login timeout")
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        loginTimer?.cancel()
        pingTimer?.cancel()
        for task in tasks.values {
            task.aborted = true
            releaseWindowPlace(task)
        }
        tasks.removeAll()
        _ = output.removeAllWaiting()
        // The session may go on over its other connections: this one's parked commands
        // become no-ops so that theirs are not held up.
        sequencer?.detach(connection: connectionID)
        registry.unregister(connection: connectionID)
        if machine.isFullFeature { logger.info("connection closed") }
        machine.close()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error: \(error)")
        closeNow(reason: "\(error)")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let incoming = unwrapInboundIn(data)
        liveness.received(at: .now())
        framer.append(incoming)
        inChannelRead = true
        defer { inChannelRead = false }
        while !machine.isClosing {
            if machine.isLoggingIn, let header = framer.nextHeader, case let .close(why)? = machine.screen(header) {
                logger.warning("\(why); dropping the connection")
                closeNow(reason: why)
                break
            }
            let pdu: PDU?
            do {
                pdu = try framer.next()
            } catch {
                handleFramingError(error)
                continue
            }
            guard let pdu else { break }
            if awaitingFirstPDU { firstPDUArrived() }
            process(pdu)
        }
        framer.endOfBatch(allocator: context.channel.allocator)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded()
    }

    // MARK: output

    /// Writes one PDU as the serializer frames it. Flushed at the end of the read batch or,
    /// from an I/O completion, after the completions that came back with it.
    func send(_ header: BasicHeaderSegment, data: ByteBuffer? = nil) {
        guard isAttached else { return }
        guard !machine.isClosing || header.rawOpcode == TargetOpcode.logoutResponse.rawValue
                || header.rawOpcode == TargetOpcode.loginResponse.rawValue
                || header.rawOpcode == TargetOpcode.reject.rawValue else { return }
        let frame = serializer.frame(header, data: data, allocator: context.channel.allocator)
        context.write(wrapOutboundOut(frame.head), promise: nil)
        if let data = frame.data { context.write(wrapOutboundOut(data), promise: nil) }
        if let trailer = frame.trailer { context.write(wrapOutboundOut(trailer), promise: nil) }
        needsFlush = true
        if !inChannelRead { scheduleFlush() }
    }

    /// Outside a read batch, a response goes out with the others that complete in the same
    /// event loop tick: a worker thread hands back every write it finished in one task, and
    /// flushing each response there made one `write` system call per response (measured on
    /// 4 KiB buffered writes: as many calls as commands, and the initiator reading them one
    /// by one). The flush runs as the next task on this loop, after that batch.
    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            bound.value.flushScheduled = false
            bound.value.flushIfNeeded()
        }
    }

    func send(_ header: BasicHeaderSegment, bytes: [UInt8]) {
        guard isAttached else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        send(header, data: buffer)
    }

    func flushIfNeeded() {
        if needsFlush && isAttached {
            needsFlush = false
            context.flush()
        }
    }

    /// Consumes a StatSN for a status-carrying PDU and returns the sequence to put in it.
    func nextStatus() -> TargetPDU.Sequence {
        let seq = sequence
        _ = machine.takeStatSN()
        return seq
    }

    func closeNow(reason: String) {
        guard !machine.isClosing, isAttached else { return }
        machine.close()
        logger.debug("closing connection: \(reason)")
        flushIfNeeded()
        context.close(promise: nil)
    }

    /// Flushes what is queued, then closes (after Logout and failed Login responses).
    func closeAfterFlush() {
        machine.close()
        needsFlush = false
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        let channel = context.channel
        promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    // MARK: framing errors

    func handleFramingError(_ error: ISCSIError) {
        switch error {
        case .headerDigestMismatch:
            // The header cannot be trusted, so neither can the PDU boundaries after it.
            logger.warning("\(error); dropping the connection")
            closeNow(reason: "header digest error")
        case let .dataDigestMismatch(header):
            logger.warning("\(error)")
            sendReject(.dataDigestError, header: header)
            if header.initiatorOpcode == .dataOut || header.initiatorOpcode == .scsiCommand {
                // At ErrorRecoveryLevel 0 the command cannot be recovered.
                closeAfterFlush()
            }
        case let .dataSegmentTooLong(header, _, _):
            logger.warning("\(error); rejecting and dropping the connection")
            sendReject(.protocolError, header: header)
            closeAfterFlush()
        default:
            logger.warning("\(error)")
            closeNow(reason: "\(error)")
        }
    }

    func sendReject(_ reason: RejectReason, header: BasicHeaderSegment) {
        let seq = nextStatus()
        send(TargetPDU.reject(reason: reason, seq: seq), bytes: header.bytes())
    }

    // MARK: dispatch

    func process(_ pdu: PDU) {
        switch machine.receive(pdu, authority: ConnectionLoginAuthority(registry: registry, connection: connectionID,
                                                                       peer: peerAddress)) {
        case let .loginStep(step): carryOut(step)
        case let .command(pdu): arriveCommand(pdu)
        case let .dataOut(pdu): receiveDataOut(pdu)
        case let .request(pdu): sequenceRequest(pdu)
        case let .reject(reason, why):
            logger.warning("\(why)")
            sendReject(reason, header: pdu.header)
        case let .close(why):
            logger.warning("\(why); dropping the connection")
            closeNow(reason: why)
        case .none:
            break
        }
    }
}

extension SocketAddress {
    /// The raw IPv4 (4 bytes) or IPv6 (16 bytes) address.
    var addressBytes: [UInt8]? {
        switch self {
        case let .v4(address):
            let a = address.address.sin_addr.s_addr  // network byte order
            return withUnsafeBytes(of: a) { Array($0) }
        case let .v6(address):
            return withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
        default:
            return nil
        }
    }
}
