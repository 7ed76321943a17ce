import DeviceServer
import ISCSI
import SCSI
import NIOConcurrencyHelpers
import NIOCore

/// Sessions and connections of the whole server: TSIH allocation, session reinstatement,
/// the max-sessions limit, and the list of live connections to log out at shutdown.
/// Shared by every event loop, so it is a lock around a small table.
public final class SessionRegistry: Sendable {
    /// How a connection is told to go away (reinstatement, shutdown).
    public struct ConnectionHandle: Sendable {
        public let id: UInt64
        /// Asks the connection to request a logout and close (runs on its event loop).
        public let requestLogout: @Sendable () -> Void
        /// Closes the connection at once.
        public let close: @Sendable () -> Void
        /// The initiator's address and port as text, for status output.
        public var peer: String = "?"
        /// The local address and port the connection came in on (a portal a reload removes
        /// logs its connections out).
        public var localHost: String? = nil
        public var localPort: Int? = nil
        /// Aborts the connection's tasks on one LU (nil: every LU) without a response, on its
        /// event loop (PREEMPT AND ABORT, resets from another session).
        public var abortTasks: (@Sendable (LogicalUnit?) -> EventLoopFuture<Void>)? = nil
        /// Aborts the connection's task with this ITT on this LUN field, if it has it (ABORT
        /// TASK from another connection of the session); true when it had it.
        public var abortTask: (@Sendable (UInt32, UInt64) -> EventLoopFuture<Bool>)? = nil
        /// A reload replaced the catalog: the connection takes its target's new version, or
        /// asks its initiator to log out when the target is gone or no longer admits it.
        public var adopt: (@Sendable (TargetCatalog) -> EventLoopFuture<CatalogAdoption>)? = nil
        /// How many of the connection's commands are addressed to this LU (a removed LU is
        /// closed once none are).
        public var taskCount: (@Sendable (LogicalUnit) -> EventLoopFuture<Int>)? = nil
    }

    /// One logged-in session as `targe status` shows it.
    public struct SessionSummary: Sendable, Equatable {
        public var tsih: UInt16
        public var initiatorName: String
        public var isid: UInt64
        /// nil for a discovery session.
        public var targetName: String?
        public var peer: String
        /// The session's connections (MC/S: more than one).
        public var connections: Int = 1
    }

    struct SessionEntry {
        var tsih: UInt16
        var initiatorName: String
        var isid: UInt64
        var targetName: String?
        /// The session's connections (registry connection id -> the initiator's CID), the
        /// leading one first in `order`.
        var connections: [UInt64: UInt16]
        var order: [UInt64]
        /// MaxConnections as the leading login negotiated it.
        var maxConnections: Int
        /// What the leading login negotiated: the session-wide values every connection uses.
        var parameters: OperationalParameters
        /// The I_T nexus of a normal session (nil for discovery).
        var nexus: NexusIdentity?
        /// The CHAP user its leading login authenticated as (nil: none was required).
        /// Reinstating or joining the session takes the same identity: a valid user must not
        /// take over another initiator's session, and the nexus its reservations belong to.
        var authenticatedUser: String?
        /// The session's command window, made by its first connection to reach full feature.
        var sequencer: CommandSequencer?

        func contains(_ connection: UInt64) -> Bool { connections[connection] != nil }
    }

    struct State {
        var nextTSIH: UInt16 = 1
        var nextConnectionID: UInt64 = 1
        var sessions: [UInt16: SessionEntry] = [:]
        var connections: [UInt64: ConnectionHandle] = [:]
        /// Connections still logging in, by peer address, and each one's address.
        var loggingIn: [[UInt8]: Int] = [:]
        var loginAddress: [UInt64: [UInt8]] = [:]
        /// Refusals at accept are logged at most a few times a second across the server.
        var refusalLog = LogRateLimit(burst: 5, per: .seconds(10))
        /// CHAP failures per address, to slow the guessing of secrets.
        var authenticationFailures = AuthenticationThrottle()
        var floods = FloodWatch()
    }

    /// Why a connection was turned away at accept, and how many refusals went unlogged
    /// before it (nil: do not log this one).
    public struct Refusal: Sendable, Equatable {
        public var reason: String
        public var unlogged: Int?
    }

    /// What a reload may replace: read by logins and SendTargets, never per command.
    struct Policy {
        var catalog: TargetCatalog
        var limits: SessionLimits
        var discoveryAuthentication: AuthenticationPolicy
    }

    private let state = NIOLockedValueBox(State())
    /// Logins by outcome, logouts and task management per target, for the metrics.
    public let activity = ActivityCounters()
    private let policy: NIOLockedValueBox<Policy>

    public init(catalog: TargetCatalog, limits: SessionLimits = SessionLimits(),
                discoveryAuthentication: AuthenticationPolicy = .none) {
        self.policy = NIOLockedValueBox(Policy(catalog: catalog, limits: limits,
                                               discoveryAuthentication: discoveryAuthentication))
    }

    /// The targets new logins and SendTargets see (a running session keeps its own
    /// `ExportedTarget` until it adopts a reload's).
    public var catalog: TargetCatalog { policy.withLockedValue { $0.catalog } }
    public var limits: SessionLimits { policy.withLockedValue { $0.limits } }
    public var discoveryAuthentication: AuthenticationPolicy { policy.withLockedValue { $0.discoveryAuthentication } }

    /// A reload: new logins see `catalog` and the limits from now on. Running connections are
    /// told by the caller (`ConnectionHandle.adopt`).
    public func replace(catalog: TargetCatalog, limits: SessionLimits, discoveryAuthentication: AuthenticationPolicy) {
        policy.withLockedValue {
            $0 = Policy(catalog: catalog, limits: limits, discoveryAuthentication: discoveryAuthentication)
        }
    }

    /// A login from `peer` failed CHAP: how long to wait before answering it, and what to log.
    func authenticationFailed(from peer: [UInt8]?, at now: NIODeadline = .now()) -> (delay: TimeAmount, notice: String?) {
        guard let peer else { return (.zero, nil) }
        return state.withLockedValue { $0.authenticationFailures.failed(from: peer, at: now) }
    }

    public func makeConnectionID() -> UInt64 {
        state.withLockedValue { s in
            defer { s.nextConnectionID += 1 }
            return s.nextConnectionID
        }
    }

    /// Registers a connection just accepted from `peer`, unless `max-connections` or the
    /// per-address cap on connections still logging in says no.
    public func register(_ handle: ConnectionHandle, from peer: [UInt8]? = nil) -> Refusal? {
        let limits = policy.withLockedValue { ($0.limits.maxConnections, $0.limits.maxLoginsPerAddress) }
        return state.withLockedValue { s in
            var reason: String?
            if s.connections.count >= limits.0 {
                reason = "max-connections \(limits.0) reached"
            } else if let peer, s.loggingIn[peer, default: 0] >= limits.1 {
                reason = "\(limits.1) connections from this address are still logging in (max-logins-per-address)"
            }
            if let reason {
                return Refusal(reason: reason, unlogged: s.refusalLog.admit(at: .now()))
            }
            s.connections[handle.id] = handle
            _ = s.floods.connections(s.connections.count)
            if let peer {
                s.loggingIn[peer, default: 0] += 1
                s.loginAddress[handle.id] = peer
            }
            return nil
        }
    }

    /// The connection finished its login (or left): it no longer counts against its
    /// address's cap.
    func loginEnded(connection id: UInt64) {
        state.withLockedValue { Self.loginEnded(id, in: &$0) }
    }

    private static func loginEnded(_ id: UInt64, in s: inout State) {
        guard let peer = s.loginAddress.removeValue(forKey: id) else { return }
        let left = (s.loggingIn[peer] ?? 1) - 1
        s.loggingIn[peer] = left > 0 ? left : nil
    }

    /// Forgets the connection and any session it carried. A session's end is the loss of its
    /// I_T nexus for every LU of its target; told inside the lock, so a new login with the
    /// same ISID cannot be admitted in between and lose its fresh state.
    /// The session lives on while it has connections (MC/S); the connection's own command
    /// window bookkeeping is the handler's (`CommandSequencer.detach`).
    public func unregister(connection id: UInt64) {
        let floodEnded = state.withLockedValue { s in
            s.connections[id] = nil
            Self.loginEnded(id, in: &s)
            if let (tsih, entry) = s.sessions.first(where: { $0.value.contains(id) }) {
                s.sessions[tsih]?.connections[id] = nil
                s.sessions[tsih]?.order.removeAll { $0 == id }
                if s.sessions[tsih]?.connections.isEmpty == true {
                    s.sessions[tsih] = nil
                    nexusLost(entry)
                }
            }
            return s.floods.connections(s.connections.count)
        }
        if floodEnded { FloodWatch.returnFreeMemory() }
    }

    /// The command window of session `tsih`, made with `make` by the first connection that asks.
    func sequencer(forSession tsih: UInt16, make: () -> CommandSequencer) -> CommandSequencer? {
        state.withLockedValue { s in
            guard s.sessions[tsih] != nil else { return nil }
            if let existing = s.sessions[tsih]?.sequencer { return existing }
            let made = make()
            s.sessions[tsih]?.sequencer = made
            return made
        }
    }

    /// The session-wide parameters of session `tsih` (its leading login's).
    func sessionParameters(_ tsih: UInt16) -> OperationalParameters? {
        state.withLockedValue { $0.sessions[tsih]?.parameters }
    }

    /// The command window of session `tsih` if it has one yet (a joining connection's login).
    func existingSequencer(_ tsih: UInt16) -> CommandSequencer? {
        state.withLockedValue { $0.sessions[tsih]?.sequencer }
    }

    /// The other connections of the session that `connection` belongs to, with their CIDs.
    func siblings(of connection: UInt64) -> [(cid: UInt16, handle: ConnectionHandle)] {
        state.withLockedValue { s in
            guard let entry = s.sessions.values.first(where: { $0.contains(connection) }) else { return [] }
            return entry.order.filter { $0 != connection }.compactMap { id in
                s.connections[id].map { (entry.connections[id] ?? 0, $0) }
            }
        }
    }

    private func nexusLost(_ entry: SessionEntry) {
        guard let nexus = entry.nexus, let name = entry.targetName, let target = catalog.target(named: name) else { return }
        for unit in target.units.values { unit.nexusLost(nexus) }
    }

    /// Aborts, on their own event loops, the tasks of the sessions on these nexuses for `unit`.
    func abortTasks(of victims: [NexusIdentity], unit: LogicalUnit?) -> [EventLoopFuture<Void>] {
        let wanted = Set(victims)
        let handles: [ConnectionHandle] = state.withLockedValue { s in
            s.sessions.values.filter { $0.nexus.map(wanted.contains) ?? false }.flatMap(\.order).compactMap { s.connections[$0] }
        }
        return handles.compactMap { $0.abortTasks?(unit) }
    }

    /// Aborts `unit`'s tasks (nil: all tasks) of every session on `targetName` except the
    /// connection `except` (which aborts its own).
    func abortTasks(onTarget targetName: String, unit: LogicalUnit?, except: UInt64) -> [EventLoopFuture<Void>] {
        let handles: [ConnectionHandle] = state.withLockedValue { s in
            s.sessions.values.filter { $0.targetName?.lowercased() == targetName.lowercased() }
                .flatMap(\.order).filter { $0 != except }.compactMap { s.connections[$0] }
        }
        return handles.compactMap { $0.abortTasks?(unit) }
    }

    /// The other connections of sessions on `targetName` (a cold reset closes them).
    func connections(onTarget targetName: String, except: UInt64) -> [ConnectionHandle] {
        state.withLockedValue { s in
            s.sessions.values.filter { $0.targetName?.lowercased() == targetName.lowercased() }
                .flatMap(\.order).filter { $0 != except }.compactMap { s.connections[$0] }
        }
    }

    public var connectionHandles: [ConnectionHandle] { state.withLockedValue { Array($0.connections.values) } }
    public var sessionCount: Int { state.withLockedValue { $0.sessions.count } }

    /// The logged-in sessions, oldest TSIH first.
    public var sessions: [SessionSummary] {
        state.withLockedValue { s in
            s.sessions.values.sorted { $0.tsih < $1.tsih }.map { entry in
                SessionSummary(tsih: entry.tsih, initiatorName: entry.initiatorName, isid: entry.isid,
                               targetName: entry.targetName,
                               peer: entry.order.compactMap { s.connections[$0]?.peer }.joined(separator: " ").nonEmpty ?? "?",
                               connections: entry.connections.count)
            }
        }
    }

    /// TCP connections open now, and how many of them are still logging in.
    public var connectionCounts: (open: Int, loggingIn: Int) {
        state.withLockedValue { s in (s.connections.count, s.loginAddress.count) }
    }

    /// Admits a finished login on `connection` (RFC 7143 section 6.3.5 for the TSIH rules).
    func admit(_ outcome: LoginOutcome, connection: UInt64) -> Result<UInt16, LoginStatus> {
        let targetName: String?
        if case let .normal(name) = outcome.sessionType { targetName = name } else { targetName = nil }
        let nexus = targetName.flatMap { catalog.target(named: $0) }.map {
            NexusIdentity.session(initiatorName: outcome.initiatorName, isid: outcome.isid, target: $0)
        }
        var reinstated: [ConnectionHandle] = []
        let limits = self.limits
        let result: Result<UInt16, LoginStatus> = state.withLockedValue { s in
            if outcome.requestedTSIH != 0 {
                // A connection joining a session (MC/S, RFC 7143 section 6.3.5): the same
                // initiator port and target, within the leading login's MaxConnections. The
                // same CID again is connection reinstatement: the old connection goes.
                let tsih = outcome.requestedTSIH
                guard let entry = s.sessions[tsih], entry.isid == outcome.isid, entry.targetName == targetName,
                      entry.initiatorName.lowercased() == outcome.initiatorName.lowercased() else {
                    return .failure(.sessionDoesNotExist)
                }
                guard entry.authenticatedUser == outcome.authenticatedUser else { return .failure(.authorizationFailure) }
                if let (old, _) = entry.connections.first(where: { $0.value == outcome.connectionID }) {
                    s.sessions[tsih]?.connections[old] = nil
                    s.sessions[tsih]?.order.removeAll { $0 == old }
                    if let handle = s.connections[old] { reinstated.append(handle) }
                } else if entry.connections.count >= entry.maxConnections {
                    return .failure(.tooManyConnections)
                }
                s.sessions[tsih]?.connections[connection] = outcome.connectionID
                s.sessions[tsih]?.order.append(connection)
                return .success(tsih)
            }
            // Same initiator port (name + ISID) to the same target: session reinstatement.
            // Names compare in their normalised form (the nexus), as iSCSI names are case-blind.
            if let old = s.sessions.values.first(where: {
                $0.isid == outcome.isid && $0.targetName == targetName
                    && ($0.nexus != nil && $0.nexus == nexus
                        || $0.initiatorName.lowercased() == outcome.initiatorName.lowercased())
            }) {
                guard old.authenticatedUser == outcome.authenticatedUser else { return .failure(.authorizationFailure) }
                s.sessions[old.tsih] = nil
                nexusLost(old)
                reinstated = old.order.compactMap { s.connections[$0] }
            }
            // Normal and discovery sessions each against their own limit.
            let sameKind = s.sessions.values.count { ($0.targetName == nil) == (targetName == nil) }
            guard sameKind < (targetName == nil ? limits.maxDiscoverySessions : limits.maxSessions) else {
                return .failure(.outOfResources)
            }
            var tsih = s.nextTSIH
            while tsih == 0 || s.sessions[tsih] != nil { tsih &+= 1 }
            s.nextTSIH = tsih &+ 1
            s.sessions[tsih] = SessionEntry(tsih: tsih, initiatorName: outcome.initiatorName, isid: outcome.isid,
                                            targetName: targetName, connections: [connection: outcome.connectionID],
                                            order: [connection], maxConnections: Int(max(1, outcome.parameters.maxConnections)),
                                            parameters: outcome.parameters, nexus: nexus,
                                            authenticatedUser: outcome.authenticatedUser)
            return .success(tsih)
        }
        for handle in reinstated { handle.close() }
        return result
    }
}

/// The login's view of the registry for one connection.
struct ConnectionLoginAuthority: LoginAuthority {
    let registry: SessionRegistry
    let connection: UInt64
    let peer: [UInt8]?

    func lookupTarget(named name: String) -> (name: String, alias: String?)? {
        registry.catalog.target(named: name).map { ($0.name, $0.alias) }
    }

    func portalGroupTag(forTarget name: String) -> UInt16 {
        registry.catalog.target(named: name)?.port.portalGroupTag ?? TargetPortalGroup.tag
    }

    func authorize(initiator: String, target: String) -> LoginStatus {
        guard let exported = registry.catalog.target(named: target) else { return .targetNotFound }
        return exported.admits(initiatorName: initiator, address: peer) ? .success : .authorizationFailure
    }

    func admit(_ outcome: LoginOutcome) -> Result<UInt16, LoginStatus> {
        registry.admit(outcome, connection: connection)
    }

    func authentication(for sessionType: SessionType) -> AuthenticationPolicy {
        switch sessionType {
        case .discovery:
            return registry.discoveryAuthentication
        case let .normal(name):
            return registry.catalog.target(named: name)?.authentication ?? .none
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
