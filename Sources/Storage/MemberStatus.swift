/// One member of a RAID1 as `targe status` shows it.
public struct MemberStatus: Sendable, Equatable, CustomStringConvertible {
    public enum State: String, Sendable, Equatable {
        /// In sync: written and read.
        case healthy
        /// Out of the mirror after an I/O error (or stale and not being resynced): neither
        /// written nor read until a resync brings it back.
        case failed
        /// Stale and being (or waiting to be) copied from a healthy member: written, not read.
        case resyncing
    }

    /// The member's device name.
    public var name: String
    public var state: State
    /// Why it is not healthy (the I/O error, "unclean shutdown", …); empty when healthy.
    public var reason: String
    /// Share of the current resync done, 0...1 (1 when healthy, 0 when failed).
    public var resyncProgress: Double

    public init(name: String, state: State, reason: String, resyncProgress: Double) {
        self.name = name
        self.state = state
        self.reason = reason
        self.resyncProgress = resyncProgress
    }

    public var description: String {
        switch state {
        case .healthy: return "\(name): healthy"
        case .failed: return "\(name): failed (\(reason))"
        case .resyncing:
            let percent = Int((resyncProgress * 100).rounded(.down))
            return "\(name): resyncing \(percent)%" + (reason.isEmpty ? "" : " (\(reason))")
        }
    }
}
