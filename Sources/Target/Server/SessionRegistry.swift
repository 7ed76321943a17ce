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
        /// Aborts the connection's tasks on one LU (nil: every LU) without a response, on its
        /// event loop (PREEMPT AND ABORT, resets from another session).
        public var abortTasks: (@Sendable (LogicalUnit?) -> EventLoopFuture<Void>)? = nil
    }

    /// One logged-in session as `targe status` shows it.
    public struct SessionSummary: Sendable, Equatable {
        public var tsih: UInt16
        public var initiatorName: String
        public var isid: UInt64
        /// nil for a discovery session.
        public var targetName: String?
        public var peer: String
    }

    struct SessionEntry {
        var tsih: UInt16
        var initiatorName: String
        var isid: UInt64
        var targetName: String?
        var connection: UInt64
        /// The I_T nexus of a normal session (nil for discovery).
        var nexus: NexusIdentity?
    }

    struct State {
        var nextTSIH: UInt16 = 1
        var nextConnectionID: UInt64 = 1
        var sessions: [UInt16: SessionEntry] = [:]
        var connections: [UInt64: ConnectionHandle] = [:]
    }

    private let state = NIOLockedValueBox(State())
    public let catalog: TargetCatalog
    public let maxSessions: Int
    public let discoveryAuthentication: AuthenticationPolicy

    public init(catalog: TargetCatalog, maxSessions: Int, discoveryAuthentication: AuthenticationPolicy = .none) {
        self.catalog = catalog
        self.maxSessions = maxSessions
        self.discoveryAuthentication = discoveryAuthentication
    }

    public func makeConnectionID() -> UInt64 {
        state.withLockedValue { s in
            defer { s.nextConnectionID += 1 }
            return s.nextConnectionID
        }
    }

    public func register(_ handle: ConnectionHandle) {
        state.withLockedValue { $0.connections[handle.id] = handle }
    }

    /// Forgets the connection and any session it carried. A session's end is the loss of its
    /// I_T nexus for every LU of its target; told inside the lock, so a new login with the
    /// same ISID cannot be admitted in between and lose its fresh state.
    public func unregister(connection id: UInt64) {
        state.withLockedValue { s in
            s.connections[id] = nil
            for (tsih, entry) in s.sessions where entry.connection == id {
                s.sessions[tsih] = nil
                nexusLost(entry)
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
            s.sessions.values.filter { $0.nexus.map(wanted.contains) ?? false }.compactMap { s.connections[$0.connection] }
        }
        return handles.compactMap { $0.abortTasks?(unit) }
    }

    /// Aborts `unit`'s tasks (nil: all tasks) of every session on `targetName` except the
    /// connection `except` (which aborts its own).
    func abortTasks(onTarget targetName: String, unit: LogicalUnit?, except: UInt64) -> [EventLoopFuture<Void>] {
        let handles: [ConnectionHandle] = state.withLockedValue { s in
            s.sessions.values.filter { $0.targetName?.lowercased() == targetName.lowercased() && $0.connection != except }
                .compactMap { s.connections[$0.connection] }
        }
        return handles.compactMap { $0.abortTasks?(unit) }
    }

    /// The other connections of sessions on `targetName` (a cold reset closes them).
    func connections(onTarget targetName: String, except: UInt64) -> [ConnectionHandle] {
        state.withLockedValue { s in
            s.sessions.values.filter { $0.targetName?.lowercased() == targetName.lowercased() && $0.connection != except }
                .compactMap { s.connections[$0.connection] }
        }
    }

    public var connectionHandles: [ConnectionHandle] { state.withLockedValue { Array($0.connections.values) } }
    public var sessionCount: Int { state.withLockedValue { $0.sessions.count } }

    /// The logged-in sessions, oldest TSIH first.
    public var sessions: [SessionSummary] {
        state.withLockedValue { s in
            s.sessions.values.sorted { $0.tsih < $1.tsih }.map { entry in
                SessionSummary(tsih: entry.tsih, initiatorName: entry.initiatorName, isid: entry.isid,
                               targetName: entry.targetName, peer: s.connections[entry.connection]?.peer ?? "?")
            }
        }
    }

    /// Admits a finished login on `connection` (RFC 7143 section 6.3.5 for the TSIH rules).
    func admit(_ outcome: LoginOutcome, connection: UInt64) -> Result<UInt16, LoginStatus> {
        let targetName: String?
        if case let .normal(name) = outcome.sessionType { targetName = name } else { targetName = nil }
        let nexus = targetName.flatMap { catalog.target(named: $0) }.map {
            NexusIdentity.session(initiatorName: outcome.initiatorName, isid: outcome.isid, targetName: $0.name)
        }
        var reinstated: ConnectionHandle?
        let result: Result<UInt16, LoginStatus> = state.withLockedValue { s in
            if outcome.requestedTSIH != 0 {
                // Adding a connection to an existing session (MC/S) is not supported yet.
                return .failure(s.sessions[outcome.requestedTSIH] == nil ? .sessionDoesNotExist : .cantIncludeInSession)
            }
            // Same initiator port (name + ISID) to the same target: session reinstatement.
            // Names compare in their normalised form (the nexus), as iSCSI names are case-blind.
            if let old = s.sessions.values.first(where: {
                $0.isid == outcome.isid && $0.targetName == targetName
                    && ($0.nexus != nil && $0.nexus == nexus
                        || $0.initiatorName.lowercased() == outcome.initiatorName.lowercased())
            }) {
                s.sessions[old.tsih] = nil
                nexusLost(old)
                reinstated = s.connections[old.connection]
            }
            guard s.sessions.count < maxSessions else { return .failure(.outOfResources) }
            var tsih = s.nextTSIH
            while tsih == 0 || s.sessions[tsih] != nil { tsih &+= 1 }
            s.nextTSIH = tsih &+ 1
            s.sessions[tsih] = SessionEntry(tsih: tsih, initiatorName: outcome.initiatorName, isid: outcome.isid,
                                            targetName: targetName, connection: connection, nexus: nexus)
            return .success(tsih)
        }
        reinstated?.close()
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
