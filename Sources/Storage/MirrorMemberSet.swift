/// The members of a RAID1 and what the mirror knows about each: its state (healthy, failed,
/// resyncing), why, when it failed relative to the others, the requests it has in flight and
/// how far its resync got.
///
/// A plain value with no lock of its own: `RAID1Device` keeps it under its lock, together
/// with its region locks, so a decision that needs both (may this region's bit be cleared?)
/// sees one consistent state.
struct MirrorMemberSet {
    struct Member {
        var device: BlockDevice
        var name: String
        var state: MemberStatus.State
        var reason: String
        /// Failure order across the mirror's life (0: never failed); the member that failed
        /// last has the newest data when every member failed.
        var order: UInt64 = 0
        var inFlight = 0
        /// Where the last read given to this member ended (read balancing prefers locality).
        var lastReadEnd: UInt64 = 0
        var resyncRunning = false
        var resyncDone = 0
        var resyncTotal = 0
        /// Taken out of the mirror by a reload: failed for every request, left out of status,
        /// health records and the cleaner's "every member healthy". It keeps its index, so
        /// requests in flight to it complete against the right slot.
        var removed = false
    }

    /// A member a request was issued to; `healthy` tells whether it counts for the outcome.
    struct Target {
        var index: Int
        var device: BlockDevice
        var healthy: Bool
    }

    private(set) var members: [Member]
    /// Failures so far (the last `order` given).
    private(set) var failures: UInt64 = 0

    init(devices: [BlockDevice]) {
        members = devices.map { Member(device: $0, name: $0.name, state: .healthy, reason: "") }
    }

    var indices: Range<Int> { members.indices }
    /// The members' devices (removed ones left out).
    var devices: [BlockDevice] { members.filter { !$0.removed }.map(\.device) }
    /// Every device, removed members' included (closing the mirror closes them all).
    var allDevices: [BlockDevice] { members.map(\.device) }
    var allHealthy: Bool { members.allSatisfy { $0.state == .healthy || $0.removed } }
    var firstHealthy: Int? { members.indices.first { members[$0].state == .healthy } }

    /// The index of the member named `name` (removed ones never match).
    func index(named name: String) -> Int? {
        members.indices.first { members[$0].name == name && !members[$0].removed }
    }

    subscript(index: Int) -> Member { members[index] }

    /// The members as `targe status` shows them, in config order.
    var statuses: [MemberStatus] {
        members.filter { !$0.removed }.map { m in
            let progress: Double
            switch m.state {
            case .healthy: progress = 1
            case .failed: progress = 0
            case .resyncing: progress = m.resyncTotal > 0 ? Double(m.resyncDone) / Double(m.resyncTotal) : 0
            }
            return MemberStatus(name: m.name, state: m.state, reason: m.reason, resyncProgress: progress)
        }
    }

    /// What the health file records.
    var records: [MirrorHealthFile.Record] {
        members.filter { !$0.removed }.map {
            MirrorHealthFile.Record(name: $0.name, state: $0.state, order: $0.order, reason: $0.reason)
        }
    }

    /// True when `device` is still the member at `index` (it was not replaced meanwhile).
    func holds(_ device: BlockDevice, at index: Int) -> Bool {
        members[index].device === device
    }

    /// Marks a member failed unless it was replaced since or already is; false when nothing changed.
    mutating func markFailed(_ index: Int, device: BlockDevice, reason: String) -> Bool {
        guard holds(device, at: index), members[index].state != .failed else { return false }
        failures += 1
        members[index].state = .failed
        members[index].order = failures
        members[index].reason = reason
        return true
    }

    /// Every member that is not failed (healthy ones and those being resynced, which must
    /// get every write), each counted in flight; none at all unless one is healthy, since
    /// a write that only reached a stale member could not be read back.
    mutating func claimWritable() -> [Target] {
        guard members.contains(where: { $0.state == .healthy }) else { return [] }
        var out: [Target] = []
        for i in members.indices where members[i].state != .failed {
            members[i].inFlight += 1
            out.append(Target(index: i, device: members[i].device, healthy: members[i].state == .healthy))
        }
        return out
    }

    /// Picks the healthy member to read from (see `MirrorReadBalancer`) and counts the read.
    mutating func claimReader(offset: UInt64, length: Int, excluding tried: [Int]) -> (index: Int, device: BlockDevice)? {
        guard let index = MirrorReadBalancer.choose(among: members, offset: offset, excluding: tried) else { return nil }
        members[index].inFlight += 1
        members[index].lastReadEnd = offset + UInt64(length)
        return (index, members[index].device)
    }

    /// A resync's source: `preferred` while it is healthy, else the first other healthy
    /// member not yet tried; counted in flight.
    mutating func claimResyncSource(preferred: Int, for member: Int, excluding tried: [Int]) -> (index: Int, device: BlockDevice)? {
        var index: Int? = members[preferred].state == .healthy && !tried.contains(preferred) ? preferred : nil
        if index == nil {
            index = members.indices.first { $0 != member && members[$0].state == .healthy && !tried.contains($0) }
        }
        guard let index else { return nil }
        members[index].inFlight += 1
        return (index, members[index].device)
    }

    mutating func requestDone(_ index: Int, device: BlockDevice) {
        if holds(device, at: index) { members[index].inFlight -= 1 }
    }

    // MARK: resync

    /// Marks `member` as being resynced from `source` over `regions` regions.
    mutating func beginResync(_ member: Int, from source: Int, regions: Int) {
        members[member].state = .resyncing
        members[member].resyncRunning = true
        members[member].resyncDone = 0
        members[member].resyncTotal = regions
        members[member].reason = "resync from \(members[source].name)"
    }

    mutating func resyncProgressed(_ member: Int, device: BlockDevice, done: Int) {
        if holds(device, at: member) { members[member].resyncDone = done }
    }

    /// The resync of `member` copied everything: it is healthy again. False when the member
    /// was replaced or failed meanwhile.
    mutating func resyncFinished(_ member: Int, device: BlockDevice) -> Bool {
        guard holds(device, at: member), members[member].state == .resyncing else { return false }
        members[member].state = .healthy
        members[member].reason = ""
        members[member].resyncRunning = false
        members[member].resyncDone = members[member].resyncTotal
        return true
    }

    /// The resync of `member` stopped. With `fail` (the mirror is open and the member still
    /// resyncing) the member is failed: with no source left it cannot be trusted. True when
    /// the member was failed.
    mutating func resyncStopped(_ member: Int, device: BlockDevice, reason: String, fail: Bool) -> Bool {
        guard holds(device, at: member) else { return false }
        members[member].resyncRunning = false
        guard fail, members[member].state == .resyncing else { return false }
        members[member].state = .failed
        members[member].reason = reason
        return true
    }

    /// Puts `device` in place of the failed member at `index`, waiting for a full copy;
    /// returns the old device.
    mutating func replace(_ index: Int, with device: BlockDevice) -> BlockDevice {
        let old = members[index].device
        members[index].device = device
        // The config may name the new device differently (`members a b` became `members a c`).
        members[index].name = device.name
        members[index].state = .resyncing
        members[index].reason = "replaced by \(device.name): full copy pending"
        members[index].inFlight = 0
        members[index].lastReadEnd = 0
        members[index].resyncDone = 0
        members[index].resyncTotal = 0
        return old
    }

    /// A new member at the end, waiting for a full copy (written from now on, never read
    /// until its resync finishes).
    mutating func append(_ device: BlockDevice) {
        members.append(Member(device: device, name: device.name, state: .resyncing, reason: "added: full copy pending"))
    }

    /// Takes the member at `index` out of the mirror (it gets no further request); false
    /// when that would leave no healthy member.
    mutating func remove(_ index: Int) -> Bool {
        let othersHealthy = members.indices.contains { $0 != index && members[$0].state == .healthy && !members[$0].removed }
        guard othersHealthy else { return false }
        members[index].removed = true
        members[index].state = .failed
        members[index].reason = "removed from the mirror"
        return true
    }

    // MARK: start (the states from the health file; see `RAID1Device`)

    /// What starting found: lines for the log, and whether every region must be copied.
    struct StartFindings {
        var notices: [String] = []
        var copyAll = false
    }

    /// Applies the health file's `records` (nil: no health file yet, so `initialSync` says
    /// what to do). Members it lists as failed or resyncing and members it does not know
    /// (new or replaced) wait for a resync; when every member had failed, the one that failed
    /// last serves. `missingBitmap`: the bitmap file was missing, so nothing says which
    /// regions differ (its path is named in the log).
    mutating func restore(from records: [MirrorHealthFile.Record]?, initialSync: MirrorHealth.InitialSync,
                          missingBitmap: String?) -> StartFindings {
        var found = StartFindings()
        guard let records else {
            if initialSync == .copyFirstMember && members.count > 1 {
                for i in members.indices.dropFirst() {
                    members[i].state = .resyncing
                    members[i].reason = "initial copy from \(members[0].name) pending"
                }
                found.copyAll = true
                found.notices.append("new mirror: \(members[0].name) will be copied onto the other members")
            }
            return found
        }
        failures = records.map(\.order).max() ?? 0
        let byName = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for i in members.indices {
            guard let record = byName[members[i].name] else {
                members[i].state = .resyncing
                members[i].reason = "new member: full copy pending"
                found.copyAll = true
                continue
            }
            if record.state != .healthy {
                members[i].state = .resyncing
                members[i].order = record.order
                members[i].reason = "stale (\(record.state.rawValue) before restart: \(record.reason))"
            }
        }
        if !members.contains(where: { $0.state == .healthy }) {
            // Every member had failed: the one that failed last has the newest data.
            let known = members.indices.filter { byName[members[$0].name] != nil }
            let newest = known.max { members[$0].order < members[$1].order } ?? 0
            members[newest].state = .healthy
            members[newest].reason = ""
            found.notices.append("every member was failed; serving from \(members[newest].name), which failed last")
        }
        if let missingBitmap {
            found.notices.append("write-intent bitmap \(missingBitmap) was missing: every region is dirty")
            found.copyAll = true
        }
        return found
    }

    /// After an unclean shutdown (`dirty` bits still set) only one healthy member may be
    /// trusted per region: every healthy member but the first waits for a resync from it.
    mutating func distrustAfterUncleanShutdown(dirty: Int) {
        guard dirty > 0 else { return }
        let healthy = members.indices.filter { members[$0].state == .healthy }
        for i in healthy.dropFirst() {
            members[i].state = .resyncing
            members[i].reason = "unclean shutdown: \(dirty) dirty regions to copy from \(members[healthy[0]].name)"
        }
    }

    /// One log line per member that is not healthy.
    var staleNotices: [String] {
        members.filter { $0.state != .healthy }.map { "member \($0.name): \($0.reason)" }
    }
}
