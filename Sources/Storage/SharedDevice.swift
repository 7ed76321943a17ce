/// What this gateway is for a device that several gateways serve in turn (an RBD image
/// behind several Targe instances): the one that serves, a standby, or cut off.
public enum GatewayRole: Sendable, Equatable, CustomStringConvertible {
    /// This gateway holds the device (the image's exclusive lock) and serves it.
    case active
    /// Another gateway holds it: `owner` names that gateway when it said who it is.
    case standby(owner: String?)
    /// This gateway cannot serve and cannot tell who does (the image is not open, or this
    /// gateway was fenced off by another that took over and is reconnecting).
    case unavailable(reason: String)

    public var description: String {
        switch self {
        case .active: "active (holds the lock)"
        case let .standby(owner?): "standby (\(owner) holds the lock)"
        case .standby(nil): "standby"
        case let .unavailable(reason): "unavailable (\(reason))"
        }
    }
}

/// A device that several gateways serve, one at a time. The LU over it answers as an ALUA
/// port in the matching state (active/optimized, standby, unavailable) and tells initiators
/// when that changes.
public protocol SharedDevice: BlockDevice {
    /// This server's name among the gateways (`[server] gateway-name`).
    var gatewayName: String { get }
    var role: GatewayRole { get }
    /// Called (on any thread) whenever the role changes. One handler; a later call replaces it.
    func whenRoleChanges(_ handler: @escaping @Sendable (GatewayRole) -> Void)
    /// SET TARGET PORT GROUPS: take the device over from whichever gateway holds it (fencing
    /// that one), or let it go so that another gateway takes it. Blocks until done.
    func requestRole(active: Bool) throws(StorageError)
    /// Where the LU keeps its persistent reservations so that every gateway shares them.
    var sharedReservations: SharedReservations? { get }
}

/// The LU's persistent reservations kept beside a shared device, so that every gateway
/// checks against the same registrations and a reservation survives a failover. The state is
/// opaque bytes (the SCSI layer's snapshot) with a version; each call blocks for a round trip
/// to the cluster (call it off the event loops).
public protocol SharedReservations: AnyObject, Sendable {
    /// The state as the cluster has it now; empty bytes when nothing was kept yet.
    func load() throws(StorageError) -> (bytes: [UInt8], version: UInt64)
    /// Replaces the state if it is still at `version`, and tells every gateway (waiting a
    /// few seconds for them to take it); nil when another gateway replaced it first.
    func publish(_ bytes: [UInt8], replacing version: UInt64) throws(StorageError) -> UInt64?
    /// Called (on any thread) with each state another gateway, or this one, published, and
    /// with the state found whenever the device (re)connects. One handler.
    func whenChanged(_ handler: @escaping @Sendable (_ bytes: [UInt8], _ version: UInt64) -> Void)
}
