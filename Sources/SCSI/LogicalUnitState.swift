/// Per-LU mutable state that SCSI commands may change. Owned by the transport, which
/// serialises access; the decoder reads and updates it in place.
public struct LogicalUnitState: Sendable, Equatable {
    /// Set by START STOP UNIT with START=0, cleared by START=1. While set, medium-access
    /// commands fail with NOT READY / INITIALIZING COMMAND REQUIRED (04/02).
    public var stopped: Bool = false
    /// Control mode page D_SENSE: report sense data in descriptor format. Not changeable
    /// yet (no MODE SELECT); the transport should honour it when serialising sense data.
    public var descriptorSense: Bool = false
    /// Caching mode page WCE override; nil means `LogicalUnitInfo.writeCache`.
    public var writeCacheOverride: Bool? = nil

    public init(stopped: Bool = false, descriptorSense: Bool = false, writeCacheOverride: Bool? = nil) {
        self.stopped = stopped
        self.descriptorSense = descriptorSense
        self.writeCacheOverride = writeCacheOverride
    }

    /// The write-back cache setting in effect.
    public func writeCacheEnabled(_ lu: LogicalUnitInfo) -> Bool {
        writeCacheOverride ?? lu.writeCache
    }
}
