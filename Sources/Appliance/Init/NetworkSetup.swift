#if canImport(Glibc)
import Glibc
#endif
import CSystemShims

/// Carries out a `NetworkPlan`: host name, loopback up, the first Ethernet interface up
/// with its address and default route. The kernel has no IP autoconfiguration and the
/// image no `ip` tool, so this uses the classic SIOCSIF* and SIOCADDRT ioctls.
public struct NetworkSetup: Sendable {
    public let sysNet: String

    public init(sysNet: String = "/sys/class/net") { self.sysNet = sysNet }

    /// Ethernet interfaces (ARPHRD_ETHER, type 1) backed by a device, sorted by name.
    public func ethernetInterfaces() -> [String] {
        SystemFiles.list(sysNet).filter { name in
            name != "lo" && SystemFiles.attribute("\(sysNet)/\(name)/type") == "1"
                && SystemFiles.exists("\(sysNet)/\(name)/device")
        }
    }

    /// What `apply` did: the interface it used (nil: none found), whether the plan's static
    /// address is on it, and what went wrong, so the console can say exactly that and the
    /// target still starts.
    public struct Outcome: Sendable {
        public var interface: String?
        public var addressConfigured = false
        public var failures: [InitError] = []
    }

    public func apply(_ plan: NetworkPlan) -> Outcome {
        var outcome = Outcome()
        let name = Array(plan.hostname.utf8)
        if name.withUnsafeBufferPointer({ $0.withMemoryRebound(to: CChar.self) { targe_sethostname($0.baseAddress, $0.count) } }) != 0 {
            outcome.failures.append(InitError("sethostname \(plan.hostname)", errno: errno))
        }
        if targe_if_set_up("lo") != 0 { outcome.failures.append(InitError("bring up lo", errno: errno)) }
        guard let interface = ethernetInterfaces().first else { return outcome }
        outcome.interface = interface
        if targe_if_set_up(interface) != 0 {
            outcome.failures.append(InitError("bring up \(interface)", errno: errno))
            return outcome
        }
        if case let .ipv4(address, netmask, gateway) = plan.address {
            if targe_if_set_ipv4(interface, address, netmask) != 0 {
                outcome.failures.append(InitError("set \(NetworkPlan.format(address)) on \(interface)", errno: errno))
                return outcome
            }
            outcome.addressConfigured = true
            if let gateway, targe_add_default_route(gateway) != 0 {
                outcome.failures.append(InitError("add default route via \(NetworkPlan.format(gateway))", errno: errno))
            }
        }
        return outcome
    }

    /// Configures what a DHCP server granted; an existing default route (from the lease
    /// before) is left in place.
    public func apply(_ lease: DHCPLease, on interface: String) -> [InitError] {
        var failures: [InitError] = []
        if targe_if_set_ipv4(interface, lease.address, lease.netmask) != 0 {
            failures.append(InitError("set \(NetworkPlan.format(lease.address)) on \(interface)", errno: errno))
        } else if let router = lease.router, targe_add_default_route(router) != 0, errno != EEXIST {
            failures.append(InitError("add default route via \(NetworkPlan.format(router))", errno: errno))
        }
        return failures
    }
}
