import Config
import ISCSI
import NIOConcurrencyHelpers
import NIOCore
import SCSI
import Storage

/// One exported LU: its SCSI description, its backing store, and the mutable SCSI state
/// that every I_T nexus shares (guarded by a lock: sessions run on different event loops,
/// and the critical section is a CDB decode, far shorter than any I/O).
public final class LogicalUnit: Sendable {
    public let info: LogicalUnitInfo
    public let device: BlockDevice
    private let state: NIOLockedValueBox<LogicalUnitState>
    /// Where persistent reservations are kept across restarts (nil: not kept).
    public let reservationFile: ReservationStateFile?
    /// Byte ranges being written: COMPARE AND WRITE holds its range exclusively from its read
    /// to the end of its write; every other write holds its range shared.
    public let writeRanges = AIORangeLock()
    /// Bytes per second a SANITIZE OVERWRITE may write (`[server] sanitize-rate`); nil: unpaced.
    public let sanitizeRate: UInt64?
    let notice: @Sendable (String) -> Void

    public init(info: LogicalUnitInfo, device: BlockDevice, reservationFile: ReservationStateFile? = nil,
                sanitizeRate: UInt64? = nil, notice: @escaping @Sendable (String) -> Void = { _ in }) {
        self.info = info
        self.device = device
        self.reservationFile = reservationFile
        self.sanitizeRate = sanitizeRate
        self.notice = notice
        var initial = LogicalUnitState()
        if let file = reservationFile {
            if let owner = file.foreignOwner {
                notice("\(file.path): reservations of another LU (serial \(owner)) ignored")
            }
            if let bytes = file.loaded {
                do {
                    try initial.restorePersistentReservations(bytes)
                } catch {
                    notice("\(file.path): persistent reservations not restored (\(error)); starting without them")
                }
            }
        }
        self.state = NIOLockedValueBox(initial)
    }

    public func decode(_ cdb: CDB, context: CommandContext) -> SCSIAction {
        state.withLockedValue { SCSICommandDecoder.decode(cdb, lu: info, state: &$0, context: context) }
    }

    /// Updates the LU state under its lock (the sanitize runner's progress and end).
    func updateState(_ body: (inout LogicalUnitState) -> Void) {
        state.withLockedValue { body(&$0) }
    }

    /// The second phase of MODE SELECT and PERSISTENT RESERVE OUT: the parameter list has
    /// arrived. Under the same lock as `decode`, taken again (never held across the Data-Out
    /// wait: reservations are checked again here).
    public func complete(_ cdb: CDB, parameters: [UInt8], context: CommandContext,
                         on loop: EventLoop) -> EventLoopFuture<SCSIAction> {
        // A change to the persistent reservations is queued for the file inside the lock, so
        // saves reach it in the order of the changes; the status waits for the save.
        let (action, save): (SCSIAction, EventLoopFuture<Void>?) = state.withLockedValue { s in
            let action = SCSICommandDecoder.complete(cdb, parameters: parameters, lu: info, state: &s, context: context)
            // Only PERSISTENT RESERVE OUT saves (a change left unsaved by a failed save waits for
            // the next one): no other command's outcome may hang on the file.
            guard cdb.opcode == 0x5F, s.persistentReservationsDirty, let file = reservationFile else { return (action, nil) }
            s.persistentReservationsDirty = false
            return (action, file.save(s.persistentReservationsSnapshot(), on: loop))
        }
        guard let save else { return loop.makeSucceededFuture(action) }
        return save.map { action }.flatMapErrorThrowing { [state] error in
            // The change stands in memory; the next PERSISTENT RESERVE OUT saves again.
            state.withLockedValue { $0.persistentReservationsDirty = true }
            throw error
        }
    }

    /// The I_T nexus is gone (logout, dropped connection, reinstatement): its reservation,
    /// unit attentions and PREVENT state go (persistent registrations stay).
    public func nexusLost(_ nexus: NexusIdentity) {
        state.withLockedValue { $0.nexusLost(nexus) }
    }

    public func logicalUnitReset(by issuer: NexusIdentity?) {
        state.withLockedValue { $0.logicalUnitReset(by: issuer) }
    }

    /// CLEAR TASK SET from `issuer`: the other nexuses learn their commands were cleared.
    public func clearTaskSet(by issuer: NexusIdentity?) {
        state.withLockedValue { $0.establishUnitAttention(.commandsClearedByAnotherInitiator, except: issuer) }
    }

    public func targetReset(by issuer: NexusIdentity?) {
        state.withLockedValue { $0.targetReset(by: issuer) }
    }

    /// The end of an EXTENDED COPY this LU managed: its status for RECEIVE COPY RESULTS.
    public func finishCopy(_ request: ExtendedCopyRequest, for nexus: NexusIdentity, segmentsProcessed: Int,
                           bytesCopied: UInt64, failed: Bool) {
        state.withLockedValue {
            $0.finishCopy(request, for: nexus, segmentsProcessed: segmentsProcessed, bytesCopied: bytesCopied,
                          failed: failed)
        }
    }

    /// Why `nexus` may not use this LU as an EXTENDED COPY source (destination when
    /// `writing`); nil when it may.
    public func copyRefusal(for nexus: NexusIdentity, writing: Bool) -> SenseData? {
        if writing && info.readOnly { return SenseData(key: .copyAborted, asc: 0x27, ascq: 0x00) }
        return state.withLockedValue { $0.copyRefusal(for: nexus, writing: writing) }
    }

    /// Whether CHECK CONDITION carries descriptor-format sense (control mode page D_SENSE).
    public var descriptorSense: Bool { state.withLockedValue { $0.descriptorSense } }

    public var blockSize: Int { info.blockSize }
}

/// A sharing target as it runs: IQN, alias and LUN map.
public final class ExportedTarget: Sendable {
    public let name: String
    public let alias: String?
    public let units: [UInt64: LogicalUnit]
    /// LUN numbers in ascending order, as REPORT LUNS lists them.
    public let lunList: [UInt64]
    /// The target's `allow` entries (empty: everyone).
    public let allow: [TargetAllow]
    /// CHAP users for this target (its own, else [auth]'s); none = no authentication.
    public let authentication: AuthenticationPolicy

    public init(name: String, alias: String?, units: [UInt64: LogicalUnit], allow: [TargetAllow] = [],
                authentication: AuthenticationPolicy = .none) {
        self.name = name
        self.alias = alias
        self.units = units
        self.lunList = units.keys.sorted()
        self.allow = allow
        self.authentication = authentication
    }

    /// Whether the initiator at `address` may see and use this target (the rule is
    /// `TargetConfig.admits`: listed networks and listed names must both match).
    public func admits(initiatorName: String, address: [UInt8]?) -> Bool {
        guard !allow.isEmpty else { return true }
        guard let address else { return false }
        var probe = TargetConfig(name: name, iqn: name)
        probe.allow = allow
        return probe.admits(initiatorName: initiatorName, addressBytes: address)
    }
}

/// Every target of the running configuration, looked up by IQN (case-insensitive, as
/// RFC 3722 normalizes iSCSI names to lower case).
public final class TargetCatalog: Sendable {
    public let targets: [ExportedTarget]
    private let byName: [String: ExportedTarget]

    public init(targets: [ExportedTarget]) {
        self.targets = targets
        var map: [String: ExportedTarget] = [:]
        for t in targets { map[t.name.lowercased()] = t }
        self.byName = map
    }

    public func target(named name: String) -> ExportedTarget? { byName[name.lowercased()] }

    /// Closes every device (after the server stopped; not from an event loop: mirrors flush
    /// their members and clean their bitmaps on close). Combinations close their members.
    public func closeDevices() {
        for t in targets {
            for u in t.units.values {
                u.device.close()
                u.reservationFile?.close()  // after its queued saves
            }
        }
    }

    /// Every mirror, nested ones included, for resync and status.
    public var mirrors: [RAID1Device] {
        var found: [RAID1Device] = []
        var seen = Set<ObjectIdentifier>()
        var pending: [BlockDevice] = targets.flatMap { $0.units.values.map(\.device) }
        while let device = pending.popLast() {
            guard seen.insert(ObjectIdentifier(device)).inserted else { continue }
            if let mirror = device as? RAID1Device {
                found.append(mirror)
                pending += mirror.members
            } else if let stripe = device as? RAID0Device {
                pending += stripe.members
            }
        }
        return found.sorted { $0.name < $1.name }
    }
}
