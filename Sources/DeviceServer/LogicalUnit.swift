import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SCSI
import Storage

/// One exported LU and its device server: its SCSI description, its backing store, and the
/// mutable SCSI state that every I_T nexus shares (guarded by a lock: sessions run on
/// different event loops, and the critical section is a CDB decode, far shorter than any I/O).
///
/// A transport hands it commands in two steps: `prepare` decodes the CDB (unit attentions,
/// reservations, readiness, the command's fields) and says what data to collect
/// (`TransferPlan`); `PreparedCommand.execute` takes that data and returns the status,
/// Data-In, sense and residual (`SCSICompletion`). The transport never touches the device.
public final class LogicalUnit: Sendable {
    public let device: BlockDevice
    /// The LU's description and its SCSI state, under one lock: a reload may grow the
    /// capacity, and every command is decoded against the capacity of its moment.
    private let state: NIOLockedValueBox<Guarded>
    /// Never changes: the block size is part of what initiators formatted.
    public let blockSize: Int

    struct Guarded {
        var info: LogicalUnitInfo
        var scsi: LogicalUnitState
        /// The version of the shared reservations state `scsi` holds (gateways only).
        var reservationsVersion: UInt64 = 0
    }

    /// The LU's description as it is now.
    public var info: LogicalUnitInfo { state.withLockedValue { $0.info } }
    /// Where persistent reservations are kept across restarts (nil: not kept).
    let reservationFile: ReservationStateFile?
    /// Byte ranges being written: COMPARE AND WRITE holds its range exclusively from its read
    /// to the end of its write; every other write holds its range shared.
    let writeRanges = AIORangeLock()
    /// Bytes per second a SANITIZE OVERWRITE may write (`[server] sanitize-rate`); nil: unpaced.
    public let sanitizeRate: UInt64?
    let notice: @Sendable (String) -> Void
    /// For storage failures, with the LU and its target in the metadata.
    let logger: Logger
    /// Commands, bytes, latency and errors, counted per event loop.
    public let metrics: LogicalUnitMetrics
    /// Where every gateway serving this LU keeps its persistent reservations (nil: here).
    let sharedReservations: SharedReservations?
    /// The device several gateways serve, when the LU has their port groups.
    let sharedDevice: SharedDevice?
    /// Serializes this LU's shared PERSISTENT RESERVE OUT commands, off the event loops.
    let reservationQueue = DispatchQueue(label: "targe.lu.reservations")

    public init(info: LogicalUnitInfo, device: BlockDevice, reservationFile: ReservationStateFile? = nil,
                sanitizeRate: UInt64? = nil, logger: Logger = Logger(label: "targe.lu"),
                meterSlots: LoopSlots = .shared, notice: @escaping @Sendable (String) -> Void = { _ in }) {
        var logger = logger
        logger[metadataKey: "target"] = "\(info.targetName)"
        logger[metadataKey: "lun"] = "\(info.lun)"
        self.logger = logger
        self.blockSize = info.blockSize
        self.device = device
        self.reservationFile = reservationFile
        self.sanitizeRate = sanitizeRate
        self.notice = notice
        self.metrics = LogicalUnitMetrics(slots: meterSlots)
        let shared = info.portGroups.isEmpty ? nil : device as? SharedDevice
        self.sharedDevice = shared
        self.sharedReservations = shared?.sharedReservations
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
        if device is DeviceReadiness { initial.backingNotReady = true }  // until the device says so
        self.state = NIOLockedValueBox(Guarded(info: info, scsi: initial))
        if let readiness = device as? DeviceReadiness {
            // Registered first, then asked: a device that became ready in between is not missed.
            readiness.whenReady { [weak self] size in self?.backingReady(size: size) }
            if readiness.isReady { backingReady(size: device.size) }
        }
        if let shared {
            sharedReservations?.whenChanged { [weak self] bytes, version in self?.adoptReservations(bytes, version: version) }
            shared.whenRoleChanges { [weak self] role in self?.gatewayRoleChanged(role) }
            gatewayRoleChanged(shared.role)
        }
    }

    /// Another gateway (or this one) published the shared reservations: they replace what the
    /// LU holds, unless it holds a newer version already.
    func adoptReservations(_ bytes: [UInt8], version: UInt64) {
        let failure: Error? = state.withLockedValue { g in
            guard version > g.reservationsVersion else { return nil }
            do {
                try g.scsi.restorePersistentReservations(bytes)
                g.reservationsVersion = version
                return nil
            } catch {
                return error
            }
        }
        if let failure { notice("target \(info.targetName) lun \(info.lun): shared reservations not taken (\(failure))") }
    }

    /// This gateway took the shared device, lost it, or another took it: the LU answers as
    /// a port in that ALUA state, and every nexus hears of the change (2A/06).
    func gatewayRoleChanged(_ role: GatewayRole) {
        let shared = sharedReservations != nil
        state.withLockedValue { $0.scsi.setALUA(Self.aluaView(role, info: $0.info, sharedReservations: shared)) }
        notice("target \(info.targetName) lun \(info.lun): this gateway's port group is \(role)")
    }

    /// The ALUA view of a gateway in `role`: active serves as active/optimized; a standby
    /// names the holder's port group when the holder said who it is.
    static func aluaView(_ role: GatewayRole, info: LogicalUnitInfo, sharedReservations: Bool = false) -> ALUAView {
        switch role {
        case .active:
            return ALUAView(local: .activeOptimized, owner: info.targetPortGroup, sharedReservations: sharedReservations)
        case let .standby(owner):
            let group = owner.flatMap { name in info.portGroups.first { $0.name == name }?.id }
            return ALUAView(local: .standby, owner: group == info.targetPortGroup ? nil : group,
                            sharedReservations: sharedReservations)
        case .unavailable:
            return ALUAView(local: .unavailable, owner: nil, sharedReservations: sharedReservations)
        }
    }

    /// The device can serve now (an RBD image reached after the start), or grew (resized in
    /// its cluster): medium access is allowed and the capacity is the device's; nexuses that
    /// knew another capacity get CAPACITY DATA HAS CHANGED.
    func backingReady(size: UInt64) {
        state.withLockedValue {
            $0.scsi.backingNotReady = false
            let blocks = size / UInt64(blockSize)
            guard blocks > $0.info.blockCount else { return }
            let hadCapacity = $0.info.blockCount > 0
            $0.info.blockCount = blocks
            if hadCapacity { $0.scsi.capacityChanged() }
        }
    }

    /// The first step of every command addressed to this LU: decode the CDB under the LU
    /// state lock, in CmdSN order, and say what Data-Out the command takes.
    public func prepare(_ cdb: CDB, context: CommandContext) -> PreparedCommand {
        let action = state.withLockedValue { SCSICommandDecoder.decode(cdb, lu: $0.info, state: &$0.scsi, context: context) }
        return PreparedCommand(unit: self, cdb: cdb, context: context, action: action)
    }

    /// Closes the backing device, then the reservation file (after its queued saves). Not
    /// from an event loop: mirrors flush their members and clean their bitmaps on close.
    public func close() {
        device.close()
        reservationFile?.close()
    }

    /// Closes the reservation file only: a reload moved the device to another LU, which
    /// goes on using it.
    public func closeKeepingDevice() {
        reservationFile?.close()
    }

    /// A reload grew the device under this LU: the capacity is `blockCount` blocks from the
    /// next command on, and every I_T nexus gets CAPACITY DATA HAS CHANGED (2A/09). Never
    /// smaller (the caller refuses a shrink).
    public func grow(toBlocks blockCount: UInt64) {
        state.withLockedValue {
            guard blockCount > $0.info.blockCount else { return }
            $0.info.blockCount = blockCount
            $0.scsi.capacityChanged()
        }
    }

    /// Queues a unit attention for every I_T nexus that knows this LU (a reload changed the
    /// target's LUN map: REPORTED LUNS DATA HAS CHANGED, 3F/0E).
    public func establishUnitAttention(_ sense: SenseData) {
        state.withLockedValue { $0.scsi.establishUnitAttention(sense) }
    }

    /// The LU's description and state under its lock (the shared-reservation paths).
    func withGuarded<T>(_ body: (inout Guarded) -> T) -> T {
        state.withLockedValue(body)
    }

    /// Updates the LU state under its lock (the sanitize runner's progress and end).
    func updateState(_ body: (inout LogicalUnitState) -> Void) {
        state.withLockedValue { body(&$0.scsi) }
    }

    /// The second phase of MODE SELECT and PERSISTENT RESERVE OUT: the parameter list has
    /// arrived. Under the same lock as `decode`, taken again (never held across the Data-Out
    /// wait: reservations are checked again here).
    func complete(_ cdb: CDB, parameters: [UInt8], context: CommandContext,
                  on loop: EventLoop) -> EventLoopFuture<SCSIAction> {
        if cdb.opcode == 0x5F, let store = sharedReservations {
            return completeShared(cdb, parameters: parameters, context: context, store: store, on: loop)
        }
        if cdb.opcode == 0xA4, cdb[1] & 0x1F == 0x0A, let shared = sharedDevice {
            return setTargetPortGroups(parameters, device: shared, on: loop)
        }
        // A change to the persistent reservations is queued for the file inside the lock, so
        // saves reach it in the order of the changes; the status waits for the save.
        let (action, save): (SCSIAction, EventLoopFuture<Void>?) = state.withLockedValue { guarded in
            let action = SCSICommandDecoder.complete(cdb, parameters: parameters, lu: guarded.info, state: &guarded.scsi,
                                                     context: context)
            // Only PERSISTENT RESERVE OUT saves (a change left unsaved by a failed save waits for
            // the next one): no other command's outcome may hang on the file.
            guard cdb.opcode == 0x5F, guarded.scsi.persistentReservationsDirty, let file = reservationFile else {
                return (action, nil)
            }
            guarded.scsi.persistentReservationsDirty = false
            return (action, file.save(guarded.scsi.persistentReservationsSnapshot(), on: loop))
        }
        guard let save else { return loop.makeSucceededFuture(action) }
        return save.map { action }.flatMapErrorThrowing { [state] error in
            // The change stands in memory; the next PERSISTENT RESERVE OUT saves again.
            state.withLockedValue { $0.scsi.persistentReservationsDirty = true }
            throw error
        }
    }

    /// The I_T nexus is gone (logout, dropped connection, reinstatement): its reservation,
    /// unit attentions and PREVENT state go (persistent registrations stay).
    public func nexusLost(_ nexus: NexusIdentity) {
        state.withLockedValue { $0.scsi.nexusLost(nexus) }
    }

    public func logicalUnitReset(by issuer: NexusIdentity?) {
        state.withLockedValue { $0.scsi.logicalUnitReset(by: issuer) }
    }

    /// CLEAR TASK SET from `issuer`: the other nexuses learn their commands were cleared.
    public func clearTaskSet(by issuer: NexusIdentity?) {
        state.withLockedValue { $0.scsi.establishUnitAttention(.commandsClearedByAnotherInitiator, except: issuer) }
    }

    public func targetReset(by issuer: NexusIdentity?) {
        state.withLockedValue { $0.scsi.targetReset(by: issuer) }
    }

    /// The end of an EXTENDED COPY this LU managed: its status for RECEIVE COPY RESULTS.
    func finishCopy(_ request: ExtendedCopyRequest, for nexus: NexusIdentity, segmentsProcessed: Int,
                           bytesCopied: UInt64, failed: Bool) {
        state.withLockedValue {
            $0.scsi.finishCopy(request, for: nexus, segmentsProcessed: segmentsProcessed, bytesCopied: bytesCopied,
                          failed: failed)
        }
    }

    /// Why `nexus` may not use this LU as an EXTENDED COPY source (destination when
    /// `writing`); nil when it may.
    func copyRefusal(for nexus: NexusIdentity, writing: Bool) -> SenseData? {
        return state.withLockedValue {
            if writing && $0.info.readOnly { return SenseData(key: .copyAborted, asc: 0x27, ascq: 0x00) }
            return $0.scsi.copyRefusal(for: nexus, writing: writing)
        }
    }

    /// Whether CHECK CONDITION carries descriptor-format sense (control mode page D_SENSE).
    var descriptorSense: Bool { state.withLockedValue { $0.scsi.descriptorSense } }

}
