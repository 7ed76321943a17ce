/// What the copy manager of one LU remembers of EXTENDED COPY commands (SPC-4 6.4.3.2), per
/// I_T nexus: which list identifiers are running, and the status of finished ones with LIST ID
/// USAGE "hold" until RECEIVE COPY RESULTS asks, the list identifier is reused or the nexus
/// goes. A list identifier is the initiator's own, so two nexuses may use the same one.
public struct CopyManagerState: Sendable, Equatable {
    struct Key: Sendable, Hashable {
        var nexus: NexusIdentity
        var listID: UInt8
    }

    /// RECEIVE COPY RESULTS COPY STATUS of one list.
    public struct Status: Sendable, Equatable {
        public var running: Bool
        public var failed: Bool
        public var segmentsProcessed: UInt16
        public var bytesCopied: UInt64
    }

    private(set) var copies: [Key: Status] = [:]
    /// Finished, held lists, oldest first: the first to go past `heldLimit`.
    private var heldOrder: [Key] = []
    static let heldLimit = 64

    /// Marks the list running; false when a copy with the same list identifier from the same
    /// nexus is still running (OPERATION IN PROGRESS). Lists without identifier are not tracked.
    mutating func begin(_ listID: UInt8, usage: ExtendedCopyRequest.ListIDUsage, for nexus: NexusIdentity) -> Bool {
        guard usage != .none else { return true }
        let key = Key(nexus: nexus, listID: listID)
        if let existing = copies[key], existing.running { return false }
        heldOrder.removeAll { $0 == key }
        copies[key] = Status(running: true, failed: false, segmentsProcessed: 0, bytesCopied: 0)
        return true
    }

    /// The copy ended: its status is held (HOLD) or dropped (DISCARD: only a running list is
    /// reported).
    mutating func finish(_ listID: UInt8, usage: ExtendedCopyRequest.ListIDUsage, for nexus: NexusIdentity,
                         segmentsProcessed: Int, bytesCopied: UInt64, failed: Bool) {
        guard usage != .none else { return }
        let key = Key(nexus: nexus, listID: listID)
        guard usage == .hold else {
            copies[key] = nil
            return
        }
        copies[key] = Status(running: false, failed: failed, segmentsProcessed: UInt16(clamping: segmentsProcessed),
                             bytesCopied: bytesCopied)
        heldOrder.append(key)
        if heldOrder.count > Self.heldLimit { copies[heldOrder.removeFirst()] = nil }
    }

    func status(of listID: UInt8, for nexus: NexusIdentity) -> Status? {
        copies[Key(nexus: nexus, listID: listID)]
    }

    /// The nexus is gone: its held statuses go (a running copy finishes and is dropped then).
    mutating func forget(_ nexus: NexusIdentity) {
        for key in copies.keys where key.nexus == nexus && copies[key]?.running == false { copies[key] = nil }
        heldOrder.removeAll { $0.nexus == nexus }
    }
}
