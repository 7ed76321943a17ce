#if canImport(Glibc)
import Glibc
#endif
import CSystemShims
import Config

/// `[appliance]` applied: host name, static address or DHCP.
extension InitSystem {
    func configureNetwork() {
        let settings = (try? ConfigParser.load(path: configPath))?.appliance
        network = NetworkPlan(settings: settings)
        for warning in network.warnings { console.say("warning: \(warning)") }
        let outcome = NetworkSetup().apply(network)
        interface = outcome.interface
        for failure in outcome.failures { console.say("warning: \(failure)") }
        guard let interface else {
            networkSummary = "no Ethernet interface (only loopback)"
            console.say("network: hostname \(network.hostname); no Ethernet interface found, only loopback is up")
            return
        }
        switch network.address {
        case let .ipv4(host, _, _):
            if outcome.addressConfigured {
                currentAddress = NetworkPlan.format(host)
                networkSummary = network.summary
                console.say("network: hostname \(network.hostname), \(interface) \(network.summary)")
            } else {
                networkSummary = "\(interface) without an address"
                console.say("network: hostname \(network.hostname), \(interface) is up without an address")
            }
        case .dhcp:
            networkSummary = "\(interface) waiting for DHCP"
            runDHCP()
        case let .none(reason):
            networkSummary = "\(interface) without an address"
            console.say("network: hostname \(network.hostname); \(reason)")
        }
    }

    /// One DHCP exchange (boot, renewal or retry); schedules the next one.
    func runDHCP() {
        guard let interface else { return }
        let now = MonotonicClock.now()
        do {
            let lease = try DHCPClient(interface: interface, hostname: network.hostname).acquire(timeout: 30)
            for failure in NetworkSetup().apply(lease, on: interface) { console.say("warning: \(failure)") }
            let address = "\(NetworkPlan.format(lease.address))/\(lease.netmask.nonzeroBitCount)"
            if currentAddress != NetworkPlan.format(lease.address) {
                console.say("network: hostname \(network.hostname), \(interface) \(address)"
                    + (lease.router.map { " via \(NetworkPlan.format($0))" } ?? "")
                    + " (DHCP from \(NetworkPlan.format(lease.server)), lease \(lease.leaseSeconds) s)")
            }
            currentAddress = NetworkPlan.format(lease.address)
            networkSummary = "\(interface) \(address) (DHCP)"
            publishDetail()
            dhcpAt = now + Double(max(lease.renewSeconds, 30))
        } catch {
            console.say("warning: \(error); trying again in 60 s (set a static address in [appliance] to avoid DHCP)")
            dhcpAt = now + 60
        }
    }
}
