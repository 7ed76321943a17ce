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

    enum Phase {
        case login
        case fullFeature
        case closing
    }

    let settings: ServerRuntimeSettings
    let registry: SessionRegistry
    let connectionID: UInt64
    var logger: Logger

    var phase: Phase = .login
    var context: ChannelHandlerContext!
    var framer = PDUFramer()
    var serializer = PDUSerializer()
    var login: LoginStateMachine
    var loginTimer: Scheduled<Void>?

    /// The initiator's IP address as bytes (4 or 16), for access rules.
    var peerAddress: [UInt8]?
    var initiatorName = ""

    // Full feature phase state.
    var parameters = OperationalParameters()
    var target: ExportedTarget?
    var isDiscovery = false
    /// The I_T nexus of a normal session, from login on (every command is decoded with it).
    var nexus: NexusIdentity?
    var tsih: UInt16 = 0
    /// The initiator's connection ID (CID) for this connection.
    var cid: UInt16 = 0
    var statSN: UInt32 = 0
    /// ExpCmdSN while logging in: the leading Login Request's CmdSN (nil before it came).
    var loginCmdSN: UInt32?
    /// The TSIH a joining connection's Login Request names (0 for a new session).
    var joiningTSIH: UInt16 = 0
    /// The session's command window, shared with its other connections (from full feature on).
    var sequencer: CommandSequencer?
    var tasks: [UInt32: SCSITask] = [:]
    var nextTargetTransferTag: UInt32 = 1
    var needsFlush = false
    var inChannelRead = false
    /// A pending text response split across PDUs (RFC 7143 section 11.10: C bit).
    var textContinuation: (ttt: UInt32, remaining: [UInt8])?

    // Liveness.
    var lastReceive = NIODeadline.now()
    var pingDeadline: NIODeadline?
    var pingTimer: Scheduled<Void>?

    init(settings: ServerRuntimeSettings, registry: SessionRegistry, logger: Logger) {
        self.settings = settings
        self.registry = registry
        self.connectionID = registry.makeConnectionID()
        self.login = LoginStateMachine(offer: settings.offer)
        var logger = logger
        logger[metadataKey: "connection"] = "\(connectionID)"
        self.logger = logger
        // The first login response picks the connection's initial StatSN.
        self.statSN = UInt32.random(in: 1...0x7fff_ffff)
    }

    var sequence: TargetPDU.Sequence {
        if let sequencer {
            let numbers = sequencer.numbers
            return TargetPDU.Sequence(statSN: statSN, expCmdSN: numbers.expCmdSN, maxCmdSN: numbers.maxCmdSN)
        }
        if joiningTSIH != 0, let session = registry.existingSequencer(joiningTSIH) {
            // A connection joining a session reports the session's window from its login on.
            let numbers = session.numbers
            return TargetPDU.Sequence(statSN: statSN, expCmdSN: numbers.expCmdSN, maxCmdSN: numbers.maxCmdSN)
        }
        let exp = loginCmdSN ?? 0
        return TargetPDU.Sequence(statSN: statSN, expCmdSN: exp, maxCmdSN: exp &+ settings.commandWindow &- 1)
    }

    // MARK: channel events

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
                phase = .closing
                context.close(promise: nil)
                return
            }
        }
        let id = connectionID
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        registry.register(.init(
            id: id,
            requestLogout: { loop.execute { bound.value.requestLogout() } },
            close: { loop.execute { bound.value.closeNow(reason: "closed by the server") } },
            peer: peerText,
            abortTasks: { unit in
                loop.submit { bound.value.abortAll(where: { task in unit.map { task.unit === $0 } ?? true }) }
            },
            abortTask: { itt, lun in
                loop.submit {
                    guard let task = bound.value.tasks[itt], task.lunField == lun else { return false }
                    bound.value.abort(task)
                    return true
                }
            }))
        loginTimer = loop.assumeIsolated().scheduleTask(in: .seconds(settings.loginTimeout)) { [self] in
            if phase == .login {
                logger.warning("login did not complete within \(settings.loginTimeout) s; dropping the connection")
                closeNow(reason: "login timeout")
            }
        }
        logger.debug("connection accepted")
    }

    func channelInactive(context: ChannelHandlerContext) {
        loginTimer?.cancel()
        pingTimer?.cancel()
        for task in tasks.values {
            task.aborted = true
            releaseWindowPlace(task)
        }
        tasks.removeAll()
        // The session may go on over its other connections: this one's parked commands
        // become no-ops so that theirs are not held up.
        sequencer?.detach(connection: connectionID)
        registry.unregister(connection: connectionID)
        if phase == .fullFeature { logger.info("connection closed") }
        phase = .closing
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error: \(error)")
        closeNow(reason: "\(error)")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let incoming = unwrapInboundIn(data)
        lastReceive = .now()
        pingDeadline = nil
        framer.append(incoming)
        inChannelRead = true
        defer { inChannelRead = false }
        while phase != .closing {
            if phase == .login, let header = framer.nextHeader, header.initiatorOpcode != .loginRequest {
                // Before login only Login Requests are legal (RFC 7143 section 6.1); anything
                // else is garbage or a confused peer, and not worth buffering.
                logger.warning("opcode 0x\(String(header.rawOpcode, radix: 16)) before login; dropping the connection")
                closeNow(reason: "not a login request")
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
            process(pdu)
        }
        framer.endOfBatch(allocator: context.channel.allocator)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded()
    }

    // MARK: output

    /// Writes one PDU as the serializer frames it. Flushed at the end of the read batch or
    /// right away when called from an I/O completion.
    func send(_ header: BasicHeaderSegment, data: ByteBuffer? = nil) {
        guard phase != .closing || header.rawOpcode == TargetOpcode.logoutResponse.rawValue
                || header.rawOpcode == TargetOpcode.loginResponse.rawValue
                || header.rawOpcode == TargetOpcode.reject.rawValue else { return }
        let frame = serializer.frame(header, data: data, allocator: context.channel.allocator)
        context.write(wrapOutboundOut(frame.head), promise: nil)
        if let data = frame.data { context.write(wrapOutboundOut(data), promise: nil) }
        if let trailer = frame.trailer { context.write(wrapOutboundOut(trailer), promise: nil) }
        needsFlush = true
        if !inChannelRead { flushIfNeeded() }
    }

    func send(_ header: BasicHeaderSegment, bytes: [UInt8]) {
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        send(header, data: buffer)
    }

    func flushIfNeeded() {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
    }

    /// Consumes a StatSN for a status-carrying PDU and returns the sequence to put in it.
    func nextStatus() -> TargetPDU.Sequence {
        let seq = sequence
        statSN &+= 1
        return seq
    }

    func closeNow(reason: String) {
        guard phase != .closing else { return }
        phase = .closing
        logger.debug("closing connection: \(reason)")
        flushIfNeeded()
        context.close(promise: nil)
    }

    /// Flushes what is queued, then closes (after Logout and failed Login responses).
    func closeAfterFlush() {
        phase = .closing
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
        switch phase {
        case .login:
            processLogin(pdu)
        case .fullFeature:
            processFullFeature(pdu)
        case .closing:
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
