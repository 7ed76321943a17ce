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
}
