/// The per-I_T-nexus state of one LU: pending unit attentions (SPC-4 5.14) and PREVENT ALLOW
/// MEDIUM REMOVAL (SBC-4 5.14). A nexus becomes known with its first command; the transport
/// reports its loss (`LogicalUnitState.nexusLost`).
struct NexusTable: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        /// Oldest first; CHECK CONDITION reports (and clears) the first.
        var unitAttentions: [SenseData]
        /// This nexus has prevented medium removal.
        var preventsRemoval = false
    }

    /// Nexuses that exist, with their state.
    private(set) var active: [NexusIdentity: Entry] = [:]
    /// Nexuses lost while known, oldest first: when one forms again it gets I_T NEXUS LOSS
    /// OCCURRED rather than POWER ON. Bounded (initiators such as libiscsi use a new ISID for
    /// every login); a nexus that fell off the list is treated as new (29/00).
    private(set) var lost: [NexusIdentity] = []

    static let lostLimit = 256
    /// SPC-4 5.14: the queue may be bounded; extra conditions (never a reset) are dropped.
    static let queueLimit = 16

    /// Makes `nexus` known (queuing POWER ON, RESET, OR BUS DEVICE RESET OCCURRED for a new
    /// nexus, or I_T NEXUS LOSS OCCURRED for one that was lost) and, when `deliver`, removes and
    /// returns its oldest unit attention.
    mutating func admit(_ nexus: NexusIdentity, deliver: Bool) -> SenseData? {
        if let index = active.index(forKey: nexus) {
            guard deliver, !active.values[index].unitAttentions.isEmpty else { return nil }
            return active.values[index].unitAttentions.removeFirst()
        }
        var first = SenseData.powerOnReset
        if let index = lost.firstIndex(of: nexus) {
            lost.remove(at: index)
            first = .itNexusLossOccurred
        }
        active[nexus] = Entry(unitAttentions: deliver ? [] : [first])
        return deliver ? first : nil
    }

    /// Removes and returns the oldest unit attention of `nexus` (REQUEST SENSE).
    mutating func takeUnitAttention(for nexus: NexusIdentity) -> SenseData? {
        guard let index = active.index(forKey: nexus), !active.values[index].unitAttentions.isEmpty else {
            return nil
        }
        return active.values[index].unitAttentions.removeFirst()
    }

    func unitAttentions(for nexus: NexusIdentity) -> [SenseData] {
        active[nexus]?.unitAttentions ?? []
    }

    /// Queues `sense` for every known nexus `where` accepts. A reset condition (ASC 29h)
    /// replaces whatever was queued (SPC-4 5.14: it supersedes the others); any other condition
    /// is queued once.
    mutating func post(_ sense: SenseData, where accepts: (NexusIdentity) -> Bool) {
        for index in active.indices where accepts(active.keys[index]) {
            Self.enqueue(sense, into: &active.values[index].unitAttentions)
        }
    }

    static func enqueue(_ sense: SenseData, into queue: inout [SenseData]) {
        if sense.asc == 0x29 {
            queue = [sense]
        } else if !queue.contains(where: { $0.additionalSenseCode == sense.additionalSenseCode }),
                  queue.count < queueLimit {
            queue.append(sense)
        }
    }

    /// Makes `nexus` known without queuing anything (the issuer of a reset, so that the
    /// reset's unit attention reaches it too).
    mutating func ensureKnown(_ nexus: NexusIdentity) {
        if active[nexus] == nil { _ = admit(nexus, deliver: false) }
    }

    /// The nexus is gone: it forgets its unit attentions and PREVENT, and is remembered as lost.
    mutating func remove(_ nexus: NexusIdentity) {
        active[nexus] = nil
        lost.removeAll { $0 == nexus }
        lost.append(nexus)
        if lost.count > Self.lostLimit { lost.removeFirst(lost.count - Self.lostLimit) }
    }

    // MARK: PREVENT ALLOW MEDIUM REMOVAL

    mutating func setPreventsRemoval(_ prevent: Bool, for nexus: NexusIdentity) {
        ensureKnown(nexus)
        active[nexus]?.preventsRemoval = prevent
    }

    /// Medium removal is prevented while any nexus prevents it.
    var removalPrevented: Bool { active.values.contains { $0.preventsRemoval } }

    mutating func allowRemovalForAll() {
        for index in active.indices { active.values[index].preventsRemoval = false }
    }
}
