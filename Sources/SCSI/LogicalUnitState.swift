/// Per-LU mutable state that SCSI commands may change. Owned by the transport, which
/// serialises access; the decoder reads and updates it in place.
///
/// Besides the mode parameters it holds everything kept per I_T nexus (unit attentions,
/// PREVENT ALLOW MEDIUM REMOVAL, the SPC-2 reservation) and the persistent reservations. The
/// transport reports nexus loss and resets with the methods in `LogicalUnitState+Events.swift`.
public struct LogicalUnitState: Sendable, Equatable {
    /// Set by START STOP UNIT with START=0, cleared by START=1. While set, medium-access
    /// commands fail with NOT READY / INITIALIZING COMMAND REQUIRED (04/02).
    public var stopped: Bool = false
    /// Set while the backing store cannot serve yet (a Ceph cluster not reached, an image
    /// not there): medium-access commands fail with NOT READY, BECOMING READY (04/01), so
    /// that initiators wait and retry instead of seeing medium errors.
    public var backingNotReady: Bool = false
    /// ALUA: this port's access state and the serving group (see `setALUA`). Medium access
    /// through a standby port fails with 04/0B.
    public internal(set) var alua: ALUAView = .sole
    /// Control mode page D_SENSE: report sense data in descriptor format (changeable with
    /// MODE SELECT). The transport honours it when serialising sense data.
    public var descriptorSense: Bool = false
    /// Caching mode page WCE override; nil means `LogicalUnitInfo.writeCache`. MODE SELECT
    /// sets it; while it turns a write-back LU write-through, writes are decoded with FUA.
    public var writeCacheOverride: Bool? = nil
    /// Control mode page SWP (software write protect, set by MODE SELECT): writes fail with
    /// DATA PROTECT / SOFTWARE WRITE PROTECTED and MODE SENSE reports WP.
    public var softwareWriteProtect: Bool = false

    /// Informational Exceptions Control mode page body (bytes 2-11) as MODE SELECT left it.
    var informationalExceptions: [UInt8] = ModePages.defaultInformationalExceptions
    /// Unit attentions and PREVENT per I_T nexus.
    var nexuses = NexusTable()
    /// SPC-2 RESERVE(6)/RESERVE(10) holder.
    public internal(set) var reservationHolder: NexusIdentity?
    /// Registrations and the persistent reservation.
    var persistentReservations = PersistentReservations()
    /// SANITIZE: running (with its progress) or failed; it outlives resets and sessions.
    public internal(set) var sanitize: SanitizeCondition = .idle
    /// EXTENDED COPY lists running and held per I_T nexus.
    public internal(set) var copyManager = CopyManagerState()
    /// Set whenever the persisted part of the persistent reservation state changes (APTPL=1,
    /// or APTPL just turned off). The transport saves `persistentReservationsSnapshot()` and
    /// clears the flag, before it sends the status of the PERSISTENT RESERVE OUT that set it.
    public var persistentReservationsDirty: Bool = false

    public init(stopped: Bool = false, descriptorSense: Bool = false, writeCacheOverride: Bool? = nil,
                softwareWriteProtect: Bool = false) {
        self.stopped = stopped
        self.descriptorSense = descriptorSense
        self.writeCacheOverride = writeCacheOverride
        self.softwareWriteProtect = softwareWriteProtect
    }

    /// The write-back cache setting in effect.
    public func writeCacheEnabled(_ lu: LogicalUnitInfo) -> Bool {
        writeCacheOverride ?? lu.writeCache
    }

    /// Writes must be durable before GOOD: the LU has a write-back cache but MODE SELECT turned
    /// WCE off.
    func writeThroughForced(_ lu: LogicalUnitInfo) -> Bool {
        lu.writeCache && !writeCacheEnabled(lu)
    }

    /// Medium removal is prevented by at least one I_T nexus (PREVENT ALLOW MEDIUM REMOVAL).
    public var mediumRemovalPrevented: Bool { nexuses.removalPrevented }

    /// The unit attentions queued for `nexus`, oldest first (read-only; commands deliver them).
    public func pendingUnitAttentions(for nexus: NexusIdentity) -> [SenseData] {
        nexuses.unitAttentions(for: nexus)
    }

    /// Returns the mode parameters MODE SELECT can change to their defaults (a reset).
    mutating func restoreDefaultModeParameters() {
        descriptorSense = false
        writeCacheOverride = nil
        softwareWriteProtect = false
        informationalExceptions = ModePages.defaultInformationalExceptions
    }
}
